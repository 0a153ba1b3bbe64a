// enc_tmr_reg: a WIDTH-bit register kept in three copies, read through a bitwise majority voter.
//
// Radiation tolerance (encoder rtl --tmr): a single-event upset flips one
// flip-flop of one copy; the voter outvotes it, so q never shows it.
// Every cycle each copy loads `load ? d : q`, the voted value when it does
// not load new data: a copy hit by an upset takes the majority back at the
// next clock edge (correction every cycle), so upsets cannot accumulate in
// two copies of one bit over time. Only two upsets of the same bit in two
// copies within one cycle get through, and the voter cannot tell them from
// a single upset of the third copy: the simulation campaign reports them.
//
// err is high in a cycle in which some bit differs between the copies: one
// cycle per corrected upset (the next edge restores the copy), so counting
// err counts upsets.
//
// The copies are separate instances of enc_tmr_copy: inside one module,
// synthesis (yosys opt_merge) shares flip-flops with identical inputs, and
// three copies of one register would come out as one.
//
// rst (synchronous, active high) loads RESET_VALUE when RESET_EN is 1;
// configuration registers (RESET_EN 0) keep their value through it.
`default_nettype none

module enc_tmr_reg #(
    parameter integer     WIDTH       = 1,
    parameter integer     RESET_EN    = 0,
    parameter [WIDTH-1:0] RESET_VALUE = {WIDTH{1'b0}}
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             load,
    input  wire [WIDTH-1:0] d,
    output wire [WIDTH-1:0] q,
    output wire             err
);
    wire [WIDTH-1:0] a, b, c;
    wire [WIDTH-1:0] next = (RESET_EN != 0 && rst) ? RESET_VALUE : (load ? d : q);

    enc_tmr_copy #(.WIDTH(WIDTH)) u_copy0 (.clk(clk), .d(next), .q(a));
    enc_tmr_copy #(.WIDTH(WIDTH)) u_copy1 (.clk(clk), .d(next), .q(b));
    enc_tmr_copy #(.WIDTH(WIDTH)) u_copy2 (.clk(clk), .d(next), .q(c));

    assign q   = (a & b) | (a & c) | (b & c);
    assign err = |((a ^ b) | (a ^ c));
endmodule

`default_nettype wire
