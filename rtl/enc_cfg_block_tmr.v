// enc_cfg_block_tmr: enc_cfg_block with its banks triplicated (encoder rtl --tmr config).
//
// Same parameters, ports and behaviour as enc_cfg_block (shadow + active
// banks with commit, or one bank with SHADOW = 0; cfg_rst; read-back of
// either bank), plus a counter of corrected upsets. Each bank is an
// enc_tmr_reg: three copies behind a bitwise majority voter, and every
// cycle each copy loads the voted bank with this cycle's write, commit or
// clear applied, so an upset in one copy is outvoted at once and corrected
// at the next clock edge. The datapath and the read-back see voted values.
//
// corrected counts the cycles in which the copies of a bank disagree: one
// per corrected upset (an upset in each bank in the same cycle counts one;
// two upsets of the same bit in two copies count one and are not corrected:
// the voter cannot tell them from one upset of the third copy). It
// saturates at all ones, clears on cfg_rst (with the rest of the
// configuration) and keeps its value through the datapath reset.
`default_nettype none

module enc_cfg_block_tmr #(
    parameter integer COUNT          = 64,
    parameter integer WIDTH          = 6,
    parameter integer ADDR_BITS      = 6,
    parameter integer SHADOW         = 1,
    parameter integer CLEAR_ON_RESET = 1,
    parameter integer CNT_BITS       = 12
) (
    input  wire                   clk,
    input  wire                   cfg_rst,
    input  wire                   we,
    input  wire [ADDR_BITS-1:0]   addr,
    input  wire [WIDTH-1:0]       wdata,
    input  wire                   commit,
    input  wire                   rd_active,
    output wire [COUNT*WIDTH-1:0] fields,
    output wire [WIDTH-1:0]       rdata,
    output reg  [CNT_BITS-1:0]    corrected
);
    localparam integer BITS = COUNT * WIDTH;
    localparam [ADDR_BITS:0] LIMIT = COUNT[ADDR_BITS:0];
    wire in_range = {1'b0, addr} < LIMIT;
    wire write    = we && in_range;
    wire wipe     = cfg_rst && (CLEAR_ON_RESET != 0);

    // The bank writes land in: voted value, with this cycle's write or clear applied.
    wire [BITS-1:0] written;
    reg  [BITS-1:0] written_next;
    always @* begin
        written_next = written;
        if (wipe) written_next = {BITS{1'b0}};
        else if (write) written_next[addr*WIDTH +: WIDTH] = wdata;
    end
    wire written_upset;
    enc_tmr_reg #(.WIDTH(BITS)) u_written (
        .clk(clk), .rst(1'b0), .load(1'b1), .d(written_next), .q(written), .err(written_upset));

    wire [BITS-1:0] read_bank;
    wire            active_upset;
    generate
        if (SHADOW != 0) begin : g_shadow
            wire [BITS-1:0] active;
            wire [BITS-1:0] active_next = wipe ? {BITS{1'b0}} : (commit ? written : active);
            enc_tmr_reg #(.WIDTH(BITS)) u_active (
                .clk(clk), .rst(1'b0), .load(1'b1), .d(active_next), .q(active), .err(active_upset));
            assign fields    = active;
            assign read_bank = rd_active ? active : written;
        end else begin : g_direct
            // One bank: commit and rd_active have nothing to act on.
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused = commit | rd_active;
            /* verilator lint_on UNUSEDSIGNAL */
            assign active_upset = 1'b0;
            assign fields       = written;
            assign read_bank    = written;
        end
    endgenerate

    assign rdata = in_range ? read_bank[addr*WIDTH +: WIDTH] : {WIDTH{1'b0}};

    always @(posedge clk) begin
        if (cfg_rst) corrected <= {CNT_BITS{1'b0}};
        else if ((written_upset || active_upset) && corrected != {CNT_BITS{1'b1}})
            corrected <= corrected + 1'b1;
    end
endmodule

`default_nettype wire
