// enc_mul_const: multiplication by the constant B_VALUE as shifts and adds.
//
// B_VALUE is recoded in canonical signed digits (digits -1, 0, +1, no two
// adjacent non-zero), so x*7 costs one subtraction (8x - x), not two
// additions. The caller sizes the product: P_BITS holds every product of
// an A_BITS operand with B_VALUE, so arithmetic modulo 2^P_BITS is exact.
// B_VALUE must not be zero (a zero weight has no multiplier at all).
`default_nettype none

module enc_mul_const #(
    parameter integer A_BITS   = 8,
    parameter integer A_SIGNED = 0,
    parameter integer B_VALUE  = 1,
    parameter integer P_BITS   = 14
) (
    input  wire [A_BITS-1:0] a,
    output wire [P_BITS-1:0] p
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (B_VALUE == 0) begin : g_check_0
            enc_mul_const_B_VALUE_must_not_be_0 check_failed ();
        end
        if (A_BITS < 1) begin : g_check_1
            enc_mul_const_A_BITS_must_be_at_least_1 check_failed ();
        end
        if (P_BITS < 1) begin : g_check_2
            enc_mul_const_P_BITS_must_be_at_least_1 check_failed ();
        end
        if (A_SIGNED != 0 && A_SIGNED != 1) begin : g_check_3
            enc_mul_const_A_SIGNED_must_be_0_or_1 check_failed ();
        end
    endgenerate

    // Canonical signed-digit form of value as two masks over P_BITS
    // positions: want_negative = 0 gives the +1 digits, 1 the -1 digits.
    function [P_BITS-1:0] csd_mask;
        input integer value;
        input integer want_negative;
        integer v, k, d;
        begin
            csd_mask = {P_BITS{1'b0}};
            v = value;
            for (k = 0; k < P_BITS; k = k + 1) begin
                d = 0;
                if (v % 2 != 0) begin
                    d = 2 - (v & 3);                  // +1 when v = 1 mod 4, -1 when v = 3 mod 4
                    v = v - d;
                end
                if ((d > 0 && want_negative == 0) || (d < 0 && want_negative != 0)) begin
                    csd_mask[k] = 1'b1;
                end
                v = v / 2;                            // v is even here: exact
            end
        end
    endfunction

    localparam [P_BITS-1:0] PLUS  = csd_mask(B_VALUE, 0);
    localparam [P_BITS-1:0] MINUS = csd_mask(B_VALUE, 1);

    wire [P_BITS-1:0] a_ext;
    generate
        if (P_BITS <= A_BITS) begin : g_a_cut
            // Only when the product is no wider than the operand (|B_VALUE| = 1
            // and the range analysis proves the top bits unused).
            /* verilator lint_off UNUSEDSIGNAL */
            wire [A_BITS-1:0] a_all = a;
            /* verilator lint_on UNUSEDSIGNAL */
            assign a_ext = a_all[P_BITS-1:0];
        end else if (A_SIGNED != 0) begin : g_a_signed
            assign a_ext = {{(P_BITS - A_BITS){a[A_BITS-1]}}, a};
        end else begin : g_a_unsigned
            assign a_ext = {{(P_BITS - A_BITS){1'b0}}, a};
        end
    endgenerate

    // Sum of the shifted operand over the digits (the masks are constants:
    // synthesis keeps one adder or subtractor per non-zero digit after the first).
    reg [P_BITS-1:0] sum;
    integer k;
    always @* begin
        sum = {P_BITS{1'b0}};
        for (k = 0; k < P_BITS; k = k + 1) begin
            if (PLUS[k]) begin
                sum = sum + (a_ext << k);
            end else if (MINUS[k]) begin
                sum = sum - (a_ext << k);
            end
        end
    end
    assign p = sum;
endmodule

`default_nettype wire
