// enc_cfg_block_tmr: enc_cfg_block with its bank triplicated (encoder rtl --tmr config|full).
//
// Same fields, addresses, write and read behaviour as enc_cfg_block, but the
// bank is an enc_tmr_reg: three copies behind a bitwise majority voter.
// Every cycle each copy loads the voted bank with the addressed field
// replaced on a write, so an upset in one copy is outvoted at once and
// corrected at the next clock edge; fields and the read-back both show the
// voted value.
//
// corrected counts the cycles in which the copies disagree: one per upset
// corrected (two upsets of the same bit in two copies in one cycle also
// count one, and are not corrected: the voter cannot tell them apart). It
// saturates at all ones, clears on clear (a write to its address on the
// configuration port) and, like the fields, keeps its value through the
// datapath reset.
`default_nettype none

module enc_cfg_block_tmr #(
    parameter integer COUNT     = 64,
    parameter integer WIDTH     = 6,
    parameter integer ADDR_BITS = 6,
    parameter integer CNT_BITS  = 12
) (
    input  wire                   clk,
    input  wire                   we,
    input  wire [ADDR_BITS-1:0]   addr,
    input  wire [WIDTH-1:0]       wdata,
    input  wire                   clear,
    output wire [COUNT*WIDTH-1:0] fields,
    output wire [WIDTH-1:0]       rdata,
    output reg  [CNT_BITS-1:0]    corrected
);
    localparam [ADDR_BITS:0] LIMIT = COUNT[ADDR_BITS:0];
    wire in_range = {1'b0, addr} < LIMIT;

    // The voted bank with this cycle's write applied: what every copy loads.
    reg  [COUNT*WIDTH-1:0] next;
    always @* begin
        next = fields;
        if (we && in_range) next[addr*WIDTH +: WIDTH] = wdata;
    end

    wire upset;
    enc_tmr_reg #(.WIDTH(COUNT * WIDTH)) u_bank (
        .clk(clk), .rst(1'b0), .load(1'b1), .d(next), .q(fields), .err(upset));

    assign rdata = in_range ? fields[addr*WIDTH +: WIDTH] : {WIDTH{1'b0}};

    always @(posedge clk) begin
        if (clear) corrected <= {CNT_BITS{1'b0}};
        else if (upset && corrected != {CNT_BITS{1'b1}}) corrected <= corrected + 1'b1;
    end
endmodule

`default_nettype wire
