// enc_cfg_block: COUNT configuration fields of WIDTH bits, one per address.
//
// A block of the weight register file. The top level decodes which block
// an access targets and hands it the local address; writes land on the
// clock edge when we is high, reads are combinational (the top level
// registers the read-back). Addresses at or above COUNT are ignored on
// write and read as zero. The fields keep their value through the
// datapath reset: the weights are loaded once and survive resets, as in
// a detector front end configured over its slow-control link.
`default_nettype none

module enc_cfg_block #(
    parameter integer COUNT     = 64,
    parameter integer WIDTH     = 6,
    parameter integer ADDR_BITS = 6
) (
    input  wire                   clk,
    input  wire                   we,
    input  wire [ADDR_BITS-1:0]   addr,
    input  wire [WIDTH-1:0]       wdata,
    output wire [COUNT*WIDTH-1:0] fields,
    output wire [WIDTH-1:0]       rdata
);
    // One vector register holds every field: a write updates one slice.
    // (Assembling fields from per-field registers would make an
    // event-driven simulator propagate each field separately.)
    reg [COUNT*WIDTH-1:0] bank;
    assign fields = bank;

    generate
        if (COUNT == (1 << ADDR_BITS)) begin : g_full
            always @(posedge clk) begin
                if (we) begin
                    bank[addr*WIDTH +: WIDTH] <= wdata;
                end
            end
            assign rdata = bank[addr*WIDTH +: WIDTH];
        end else begin : g_partial
            localparam [ADDR_BITS:0] LIMIT = COUNT[ADDR_BITS:0];
            wire in_range = {1'b0, addr} < LIMIT;
            always @(posedge clk) begin
                if (we && in_range) begin
                    bank[addr*WIDTH +: WIDTH] <= wdata;
                end
            end
            assign rdata = in_range ? bank[addr*WIDTH +: WIDTH] : {WIDTH{1'b0}};
        end
    endgenerate
endmodule

`default_nettype wire
