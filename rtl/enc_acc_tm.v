// enc_acc_tm: time-multiplexed accumulator of one MAC output (--reuse R).
//
// Each cycle adds the partial sum of the products computed in that phase;
// on the first phase of a module (first = 1) it starts again from init (the
// bias) instead of its own value. After the module's R phases acc holds
// init + every product, and keeps it through the next cycle (the first phase
// of the next module), when the next layer takes it.
//
// Arithmetic is modulo 2^BITS: BITS comes from the interval analysis of the
// complete sum, so the final value is exact even when a partial sum (a subset
// of the products) would not fit; no register or adder needs more bits.
// No reset: like the other datapath registers it is loaded on every cycle,
// and the outputs it feeds load only with valid data.
//
// Elaboration check: BITS >= 1.
`default_nettype none

module enc_acc_tm #(
    parameter integer BITS = 16
) (
    input  wire            clk,
    input  wire            first,
    input  wire [BITS-1:0] init,
    input  wire [BITS-1:0] add,
    output reg  [BITS-1:0] acc
);
    generate
        if (BITS < 1) begin : g_bad_parameters
            enc_acc_tm_needs_BITS_ge_1 u_check ();
        end
    endgenerate

    always @(posedge clk) acc <= (first ? init : acc) + add;
endmodule

`default_nettype wire
