// enc_round_shift: x * 2^-SHIFT rounded to an integer (SHIFT >= 1).
//
// ROUNDING: 0 floor (arithmetic shift right), 1 half to even (TensorFlow's
// tf.round), 2 half up (add half an LSB, then floor); the same rules as
// encoder.ir.fixed.shift_round. x is two's complement when IN_SIGNED. The
// caller sizes y from the value range (OUT_BITS may exceed IN_BITS-SHIFT by
// one for the carry of rounding up, or be narrower when the range allows).
`default_nettype none

module enc_round_shift #(
    parameter integer IN_BITS   = 14,
    parameter integer IN_SIGNED = 1,
    parameter integer SHIFT     = 5,
    parameter integer ROUNDING  = 0,
    parameter integer OUT_BITS  = 9
) (
    // Floor ignores the dropped bits; the range may leave top bits unused.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [IN_BITS-1:0]  x,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [OUT_BITS-1:0] y
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (SHIFT < 1) begin : g_check_0
            enc_round_shift_SHIFT_must_be_at_least_1 check_failed ();
        end
        if (IN_BITS < 1) begin : g_check_1
            enc_round_shift_IN_BITS_must_be_at_least_1 check_failed ();
        end
        if (OUT_BITS < 1) begin : g_check_2
            enc_round_shift_OUT_BITS_must_be_at_least_1 check_failed ();
        end
        if (ROUNDING < 0 || ROUNDING > 2) begin : g_check_3
            enc_round_shift_ROUNDING_must_be_0_1_or_2 check_failed ();
        end
        if (IN_SIGNED != 0 && IN_SIGNED != 1) begin : g_check_4
            enc_round_shift_IN_SIGNED_must_be_0_or_1 check_failed ();
        end
    endgenerate

    localparam integer QW = IN_BITS - SHIFT;      // width of the floor
    localparam integer EW = (OUT_BITS > QW) ? OUT_BITS : QW;

    wire [QW-1:0] q = x[IN_BITS-1:SHIFT];
    wire [EW-1:0] q_ext;
    wire          up;

    generate
        if (EW > QW) begin : g_extend
            assign q_ext = {{(EW - QW){IN_SIGNED != 0 ? q[QW-1] : 1'b0}}, q};
        end else begin : g_same
            assign q_ext = q;
        end

        if (ROUNDING == 0) begin : g_floor
            assign up = 1'b0;
        end else if (ROUNDING == 2 || SHIFT == 1) begin : g_half_up_or_no_sticky
            wire guard = x[SHIFT-1];
            if (ROUNDING == 2) begin : g_half_up
                assign up = guard;
            end else begin : g_half_even
                assign up = guard & q[0];                  // exact tie: round to even
            end
        end else begin : g_half_even
            wire guard  = x[SHIFT-1];
            wire sticky = |x[SHIFT-2:0];
            assign up = guard & (sticky | q[0]);
        end
    endgenerate

    // The sum is EW bits so the carry of the rounding increment has room; only OUT_BITS go out.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [EW-1:0] rounded = q_ext + {{(EW - 1){1'b0}}, up};
    /* verilator lint_on UNUSEDSIGNAL */
    assign y = rounded[OUT_BITS-1:0];
endmodule

`default_nettype wire
