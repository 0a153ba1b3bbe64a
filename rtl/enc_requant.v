// enc_requant: accumulator -> output code: activation, rounding, overflow.
//
// Follows encoder.ir.fixed.requantize after the golden model's activation:
//   RELU      1: negative accumulators become 0 first
//   SHIFT     accumulator frac - output frac; > 0 rounds (ROUNDING: 0 floor,
//             1 half to even, 2 half up), <= 0 shifts left exactly
//   OVERFLOW  0: saturate to the output format, 1: two's-complement wrap
// The output format is OUT_BITS wide, signed when OUT_SIGNED. CLAMP_HI and
// CLAMP_LO say whether the value range can reach past the format's top or
// bottom (the generator's interval analysis); clamps that cannot trigger
// are not built. y carries the low CODE_BITS bits of the code: the range
// analysis proves the bits above are copies of bit CODE_BITS-1 (or zero).
`default_nettype none

module enc_requant #(
    parameter integer IN_BITS    = 13,
    parameter integer IN_SIGNED  = 1,
    parameter integer RELU       = 1,
    parameter integer SHIFT      = 0,
    parameter integer ROUNDING   = 0,
    parameter integer OVERFLOW   = 0,
    parameter integer OUT_BITS   = 16,
    parameter integer OUT_SIGNED = 0,
    parameter integer CLAMP_HI   = 1,
    parameter integer CLAMP_LO   = 1,
    parameter integer CODE_BITS  = 16
) (
    input  wire [IN_BITS-1:0]   acc,
    output wire [CODE_BITS-1:0] y
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (IN_BITS < 1) begin : g_check_0
            enc_requant_IN_BITS_must_be_at_least_1 check_failed ();
        end
        if (OUT_BITS < 1) begin : g_check_1
            enc_requant_OUT_BITS_must_be_at_least_1 check_failed ();
        end
        if (CODE_BITS < 1 || CODE_BITS > OUT_BITS) begin : g_check_2
            enc_requant_CODE_BITS_must_be_1_to_OUT_BITS check_failed ();
        end
        if (ROUNDING < 0 || ROUNDING > 2) begin : g_check_3
            enc_requant_ROUNDING_must_be_0_1_or_2 check_failed ();
        end
        if (OVERFLOW != 0 && OVERFLOW != 1) begin : g_check_4
            enc_requant_OVERFLOW_must_be_0_or_1 check_failed ();
        end
        if (RELU != 0 && RELU != 1) begin : g_check_5
            enc_requant_RELU_must_be_0_or_1 check_failed ();
        end
    endgenerate

    // After the activation: still signed only for a signed linear accumulator.
    localparam integer A_SIGNED = (IN_SIGNED != 0 && RELU == 0) ? 1 : 0;
    // Width after shifting: room for the rounding carry, plus one sign bit.
    localparam integer RW = (SHIFT > 0) ? IN_BITS - SHIFT + 2 : IN_BITS - SHIFT + 1;
    // Comparison width: holds the value and the format's limits.
    localparam integer CW = (RW > OUT_BITS + 1) ? RW : OUT_BITS + 1;

    wire [IN_BITS-1:0] act;
    generate
        if (RELU != 0 && IN_SIGNED != 0) begin : g_relu
            assign act = acc[IN_BITS-1] ? {IN_BITS{1'b0}} : acc;
        end else begin : g_pass
            assign act = acc;
        end
    endgenerate

    // Shifted value, sign-extended to CW bits.
    wire [CW-1:0] v;
    generate
        if (SHIFT > 0) begin : g_round
            wire [IN_BITS-SHIFT:0] rounded;
            enc_round_shift #(
                .IN_BITS(IN_BITS), .IN_SIGNED(A_SIGNED), .SHIFT(SHIFT),
                .ROUNDING(ROUNDING), .OUT_BITS(IN_BITS - SHIFT + 1)
            ) u_round (.x(act), .y(rounded));
            assign v = {{(CW - (IN_BITS - SHIFT + 1)){A_SIGNED != 0 ? rounded[IN_BITS - SHIFT] : 1'b0}}, rounded};
        end else if (SHIFT < 0) begin : g_left
            assign v = {{(CW - IN_BITS + SHIFT){A_SIGNED != 0 ? act[IN_BITS-1] : 1'b0}}, act, {(-SHIFT){1'b0}}};
        end else begin : g_none
            assign v = {{(CW - IN_BITS){A_SIGNED != 0 ? act[IN_BITS-1] : 1'b0}}, act};
        end
    endgenerate

    // Format limits as CW-bit two's-complement constants.
    localparam [CW-1:0] ONE = {{(CW - 1){1'b0}}, 1'b1};
    localparam [CW-1:0] TOP = (OUT_SIGNED != 0) ? (ONE << (OUT_BITS - 1)) - ONE : (ONE << OUT_BITS) - ONE;
    localparam [CW-1:0] BOTTOM = (OUT_SIGNED != 0) ? ~((ONE << (OUT_BITS - 1)) - ONE) : {CW{1'b0}};

    // code is CW bits wide to compare against the limits; only its CODE_BITS low bits go out.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CW-1:0] code;
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (OVERFLOW == 1) begin : g_wrap
            assign code = v;                                   // keep the low bits
        end else begin : g_saturate
            wire over  = (CLAMP_HI != 0) && ($signed(v) > $signed(TOP));
            wire under = (CLAMP_LO != 0) && ($signed(v) < $signed(BOTTOM));
            assign code = over ? TOP : (under ? BOTTOM : v);
        end
    endgenerate
    assign y = code[CODE_BITS-1:0];
endmodule

`default_nettype wire
