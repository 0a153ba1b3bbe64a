// enc_field_sel: one of COUNT fields of WIDTH bits, chosen by sel (a time-multiplexed operand).
//
// With --reuse R each multiplier serves up to R products, one per cycle of the
// R-cycle phase: this picks the activation or weight field of the current
// phase. Field k sits at fields[WIDTH*k +: WIDTH]; a sel at or above COUNT
// (phases the multiplier has no product for) gives zero, so the product of an
// unused phase is zero too. An AND-OR selector rather than an indexed part
// select: synthesis sees COUNT one-hot terms, and constant fields fold away.
//
// Elaboration checks: COUNT >= 1, WIDTH >= 1 and COUNT <= 2^SEL_BITS (every
// field reachable); a bad instance names a module that does not exist.
`default_nettype none

module enc_field_sel #(
    parameter integer WIDTH    = 8,
    parameter integer COUNT    = 4,
    parameter integer SEL_BITS = 2
) (
    input  wire [COUNT*WIDTH-1:0] fields,
    input  wire [SEL_BITS-1:0]    sel,
    output reg  [WIDTH-1:0]       y
);
    generate
        if (COUNT < 1 || WIDTH < 1 || SEL_BITS < 1 || COUNT > (1 << SEL_BITS)) begin : g_bad_parameters
            enc_field_sel_needs_1_le_COUNT_le_2_pow_SEL_BITS_and_WIDTH_ge_1 u_check ();
        end
    endgenerate

    integer k;
    always @* begin
        y = {WIDTH{1'b0}};
        for (k = 0; k < COUNT; k = k + 1)
            y = y | (fields[WIDTH*k +: WIDTH] & {WIDTH{sel == k[SEL_BITS-1:0]}});
    end
endmodule

`default_nettype wire
