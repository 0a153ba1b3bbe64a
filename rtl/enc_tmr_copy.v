// enc_tmr_copy: one copy of a triplicated register (enc_tmr_reg), a plain WIDTH-bit row of flip-flops.
//
// A module of its own so that the three copies are three instances, which
// synthesis keeps apart (see enc_tmr_reg).
`default_nettype none

module enc_tmr_copy #(
    parameter integer WIDTH = 1
) (
    input  wire             clk,
    input  wire [WIDTH-1:0] d,
    output reg  [WIDTH-1:0] q
);
    always @(posedge clk) q <= d;
endmodule

`default_nettype wire
