// enc_mul: two's-complement multiplier of exactly A_BITS x B_BITS operands.
//
// Each operand is signed or unsigned by its parameter. An unsigned operand
// gets one zero bit on top so the multiply is a plain signed one (for the
// usual case, unsigned activations times signed weights, an A_BITS+1 by
// B_BITS signed multiply). The product of any such pair fits A_BITS+B_BITS
// bits (signed when either operand is), so p drops nothing.
`default_nettype none

module enc_mul #(
    parameter integer A_BITS   = 8,
    parameter integer A_SIGNED = 0,
    parameter integer B_BITS   = 6,
    parameter integer B_SIGNED = 1
) (
    input  wire [A_BITS-1:0]        a,
    input  wire [B_BITS-1:0]        b,
    output wire [A_BITS+B_BITS-1:0] p
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (A_BITS < 1) begin : g_check_0
            enc_mul_A_BITS_must_be_at_least_1 check_failed ();
        end
        if (B_BITS < 1) begin : g_check_1
            enc_mul_B_BITS_must_be_at_least_1 check_failed ();
        end
        if (A_SIGNED != 0 && A_SIGNED != 1) begin : g_check_2
            enc_mul_A_SIGNED_must_be_0_or_1 check_failed ();
        end
        if (B_SIGNED != 0 && B_SIGNED != 1) begin : g_check_3
            enc_mul_B_SIGNED_must_be_0_or_1 check_failed ();
        end
    endgenerate

    localparam integer AW = (A_SIGNED != 0) ? A_BITS : A_BITS + 1;
    localparam integer BW = (B_SIGNED != 0) ? B_BITS : B_BITS + 1;

    wire signed [AW-1:0] a_s;
    wire signed [BW-1:0] b_s;
    generate
        if (A_SIGNED != 0) begin : g_a_signed
            assign a_s = a;
        end else begin : g_a_unsigned
            assign a_s = {1'b0, a};
        end
        if (B_SIGNED != 0) begin : g_b_signed
            assign b_s = b;
        end else begin : g_b_unsigned
            assign b_s = {1'b0, b};
        end
    endgenerate

    // The bits above A_BITS+B_BITS only repeat the sign (or are zero).
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [AW+BW-1:0] full = a_s * b_s;
    /* verilator lint_on UNUSEDSIGNAL */
    assign p = full[A_BITS+B_BITS-1:0];
endmodule

`default_nettype wire
