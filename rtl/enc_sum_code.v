// enc_sum_code: module sum -> EXP_BITS + MANT_BITS float code (ECON-T rule).
//
// As encoder.inputpath.encode_sum: sums below 2^MANT_BITS are sent as they
// are; above, the exponent is bit_length - MANT_BITS and the mantissa the
// MANT_BITS bits under the leading one (truncated); the all-ones code when
// the exponent does not fit. m is the sum's leading-one position, shared
// with the input normalisation.
`default_nettype none

module enc_sum_code #(
    parameter integer SUM_BITS   = 28,
    parameter integer SHIFT_BITS = 5,
    parameter integer EXP_BITS   = 5,
    parameter integer MANT_BITS  = 4
) (
    input  wire [SUM_BITS-1:0]           s,
    input  wire [SHIFT_BITS-1:0]         m,
    output wire [EXP_BITS+MANT_BITS-1:0] code
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (SUM_BITS < 1) begin : g_check_0
            enc_sum_code_SUM_BITS_must_be_at_least_1 check_failed ();
        end
        if (SHIFT_BITS < 1) begin : g_check_1
            enc_sum_code_SHIFT_BITS_must_be_at_least_1 check_failed ();
        end
        if (EXP_BITS < 1) begin : g_check_2
            enc_sum_code_EXP_BITS_must_be_at_least_1 check_failed ();
        end
        if (MANT_BITS < 1) begin : g_check_3
            enc_sum_code_MANT_BITS_must_be_at_least_1 check_failed ();
        end
    endgenerate

    localparam integer CB = EXP_BITS + MANT_BITS;

    generate
        if (SUM_BITS <= MANT_BITS) begin : g_always_small
            // Every sum is below 2^MANT_BITS; m is not needed.
            /* verilator lint_off UNUSEDSIGNAL */
            wire [SHIFT_BITS-1:0] m_unused = m;
            /* verilator lint_on UNUSEDSIGNAL */
            assign code = {{(CB - SUM_BITS){1'b0}}, s};
        end else begin : g_float
            localparam integer EW = SHIFT_BITS + 1;
            localparam integer E_MAX = SUM_BITS - MANT_BITS;     // exponent of the largest sum
            wire is_small = ~|s[SUM_BITS-1:MANT_BITS];
            // Exponent m + 1 - MANT_BITS (>= 1 whenever the sum is not small). Its top bits are read
            // only by the saturation check, which a wide enough exponent field does without.
            /* verilator lint_off UNUSEDSIGNAL */
            wire [EW-1:0] e = {1'b0, m} + 1'b1 - MANT_BITS[EW-1:0];
            /* verilator lint_on UNUSEDSIGNAL */
            // Mantissa: the MANT_BITS bits below the leading one, s shifted
            // right by m - MANT_BITS (wraps when the sum is small; unused
            // then). Stages most significant first: after the stage for bit
            // k only 2^k - 1 more bits of shift remain, so synthesis keeps
            // just the MANT_BITS + 2^k - 1 low bits of each stage.
            wire [SHIFT_BITS-1:0] sh = m - MANT_BITS[SHIFT_BITS-1:0];
            // Only the MANT_BITS low bits of the aligned sum are the mantissa.
            /* verilator lint_off UNUSEDSIGNAL */
            reg [SUM_BITS-1:0] aligned;
            /* verilator lint_on UNUSEDSIGNAL */
            integer k;
            always @* begin
                aligned = s;
                for (k = SHIFT_BITS - 1; k >= 0; k = k - 1)
                    if (sh[k]) aligned = aligned >> (1 << k);
            end
            wire [MANT_BITS-1:0] mant = aligned[MANT_BITS-1:0];
            wire [CB-1:0] normal = {e[EXP_BITS-1:0], mant};
            wire [CB-1:0] small_code = {{(CB - MANT_BITS){1'b0}}, s[MANT_BITS-1:0]};
            if (E_MAX > (1 << EXP_BITS) - 1) begin : g_clamp
                wire over = e > ((1 << EXP_BITS) - 1);
                assign code = is_small ? small_code : (over ? {CB{1'b1}} : normal);
            end else begin : g_no_clamp
                assign code = is_small ? small_code : normal;
            end
        end
    endgenerate
endmodule

`default_nettype wire
