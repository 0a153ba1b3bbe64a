// enc_frame_cfg: the e-link framing block's configuration registers.
//
// Two registers, as the ECON-T formatter's I2C registers: the e-link count
// (eporttx_numen, COUNT_BITS wide) and the latent mask (mask_ae above
// mask_ae2, MASK_BITS wide, bit k keeps bit k of the latent word). They sit
// on the design's configuration port beside the weights; the top level
// decodes the block and hands it the local address:
//
//   local 0          e-link count, in the low COUNT_BITS of the data word
//   local 1 + j      latent mask bits [DATA_BITS*j +: DATA_BITS] (the last
//                    word holds the remaining bits, the rest reads as zero)
//
// Writes land on the clock edge when we is high and rst is low; reads are
// combinational (the top level registers the read-back), addresses past the
// mask read as zero. Unlike the weights these registers have reset values:
// synchronous active-high rst loads COUNT_RESET and MASK_RESET (the design's
// --elinks and latent mask), and a write in a reset cycle is lost.
`default_nettype none

module enc_frame_cfg #(
    parameter integer DATA_BITS   = 6,
    parameter integer ADDR_BITS   = 5,
    parameter integer COUNT_BITS  = 3,
    parameter integer COUNT_RESET = 5,
    parameter integer MASK_BITS   = 144,
    parameter [MASK_BITS-1:0] MASK_RESET = {MASK_BITS{1'b1}}
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  we,
    input  wire [ADDR_BITS-1:0]  addr,
    input  wire [DATA_BITS-1:0]  wdata,
    output wire [COUNT_BITS-1:0] n_elinks,
    output wire [MASK_BITS-1:0]  mask,
    output wire [DATA_BITS-1:0]  rdata
);
    localparam integer MASK_WORDS = (MASK_BITS + DATA_BITS - 1) / DATA_BITS;
    localparam integer WORDS      = MASK_WORDS + 1;
    localparam [COUNT_BITS-1:0] COUNT_INIT = COUNT_RESET[COUNT_BITS-1:0];

    // Read data of every local address, word a at [DATA_BITS*a +: DATA_BITS].
    wire [WORDS*DATA_BITS-1:0] rd_words;

    // -- e-link count
    reg [COUNT_BITS-1:0] count_q;
    always @(posedge clk) begin
        if (rst) count_q <= COUNT_INIT;
        else if (we && addr == {ADDR_BITS{1'b0}}) count_q <= wdata[COUNT_BITS-1:0];
    end
    assign n_elinks = count_q;
    generate
        if (COUNT_BITS == DATA_BITS) begin : g_count_full
            assign rd_words[DATA_BITS-1:0] = count_q;
        end else begin : g_count_part
            assign rd_words[DATA_BITS-1:0] = {{(DATA_BITS - COUNT_BITS){1'b0}}, count_q};
        end
    endgenerate

    // -- latent mask, one register per data word
    genvar j;
    generate
        for (j = 0; j < MASK_WORDS; j = j + 1) begin : g_mask
            localparam integer LO   = DATA_BITS * j;
            localparam integer BITS = (MASK_BITS - LO < DATA_BITS) ? MASK_BITS - LO : DATA_BITS;
            localparam integer AI   = j + 1;
            localparam [ADDR_BITS-1:0] ADDR = AI[ADDR_BITS-1:0];
            reg [BITS-1:0] word_q;
            always @(posedge clk) begin
                if (rst) word_q <= MASK_RESET[LO +: BITS];
                else if (we && addr == ADDR) word_q <= wdata[BITS-1:0];
            end
            assign mask[LO +: BITS] = word_q;
            if (BITS == DATA_BITS) begin : g_full
                assign rd_words[DATA_BITS*AI +: DATA_BITS] = word_q;
            end else begin : g_part
                assign rd_words[DATA_BITS*AI +: DATA_BITS] = {{(DATA_BITS - BITS){1'b0}}, word_q};
            end
        end
    endgenerate

    localparam [ADDR_BITS:0] LIMIT = WORDS[ADDR_BITS:0];
    wire in_range = {1'b0, addr} < LIMIT;
    assign rdata = in_range ? rd_words[addr*DATA_BITS +: DATA_BITS] : {DATA_BITS{1'b0}};
endmodule

`default_nettype wire
