// enc_cfg_block: COUNT configuration fields of WIDTH bits, one per address.
//
// A block of the weight register file. The top level decodes which block
// an access targets and hands it the local address.
//
// SHADOW = 1 (default): two banks. Writes land in the shadow bank; the
// datapath reads the active bank, which loads the whole shadow bank on a
// clock edge where `commit` is high. The top level raises `commit` for
// each block on the BX boundary of the pipeline stage that consumes the
// block's fields, so that every crossing meets one complete weight set
// however the writes and the commit fall against the data stream.
// A write on the same edge as a commit lands in the shadow only: the
// active bank takes the shadow as it stood before that edge.
//
// SHADOW = 0: one bank, written in place, `commit` ignored (the kit's
// original bank: half the flip-flops, but a reload mixes old and new
// fields while data flows).
//
// cfg_rst (synchronous, active high) is the configuration reset, separate
// from the datapath reset: the weights survive datapath resets, as in a
// detector front end configured over its slow-control link. With
// CLEAR_ON_RESET = 1 it clears both banks to zero, so an unloaded design
// holds known values (no X in simulation, a defined state for voting);
// with 0 the banks power up unknown and cfg_rst does nothing here. A
// write in a cycle where the clear happens is dropped: the clear wins (with
// CLEAR_ON_RESET = 0 the write is taken). The datapath reset does not reach
// this block: writes during it are taken.
//
// Read-back is combinational (the top level registers it): rd_active
// selects the active bank (1) or the shadow (0). Addresses at or above
// COUNT are ignored on write and read as zero; the top level counts them.
//
// Interface for wrappers (e.g. triple modular redundancy): the banks are
// the only state; `fields` is the active bank, `rdata` a mux of the banks.
`default_nettype none

module enc_cfg_block #(
    parameter integer COUNT          = 64,
    parameter integer WIDTH          = 6,
    parameter integer ADDR_BITS      = 6,
    parameter integer SHADOW         = 1,
    parameter integer CLEAR_ON_RESET = 1
) (
    input  wire                   clk,
    input  wire                   cfg_rst,    // configuration reset, synchronous, active high
    input  wire                   we,         // write wdata into the (shadow) field at addr
    input  wire [ADDR_BITS-1:0]   addr,
    input  wire [WIDTH-1:0]       wdata,
    input  wire                   commit,     // copy the shadow bank into the active bank
    input  wire                   rd_active,  // read-back: 1 active bank, 0 shadow bank
    output wire [COUNT*WIDTH-1:0] fields,     // the active bank, to the datapath
    output wire [WIDTH-1:0]       rdata
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (COUNT < 1 || COUNT > (1 << ADDR_BITS)) begin : g_check_count
            enc_cfg_block_COUNT_must_be_1_to_2_pow_ADDR_BITS check_failed ();
        end
        if (WIDTH < 1) begin : g_check_width
            enc_cfg_block_WIDTH_must_be_at_least_1 check_failed ();
        end
        if (SHADOW != 0 && SHADOW != 1) begin : g_check_shadow
            enc_cfg_block_SHADOW_must_be_0_or_1 check_failed ();
        end
        if (CLEAR_ON_RESET != 0 && CLEAR_ON_RESET != 1) begin : g_check_clear
            enc_cfg_block_CLEAR_ON_RESET_must_be_0_or_1 check_failed ();
        end
    endgenerate

    localparam [ADDR_BITS:0] LIMIT = COUNT[ADDR_BITS:0];
    // Constant true for a full block: synthesis drops the comparison.
    wire in_range = {1'b0, addr} < LIMIT;
    wire write    = we && in_range;
    wire clear    = cfg_rst && (CLEAR_ON_RESET != 0);

    // One vector register per bank: a write updates one slice.
    // (Assembling the bank from per-field registers would make an
    // event-driven simulator propagate each field separately.)
    reg [COUNT*WIDTH-1:0] written;   // the bank that writes land in
    always @(posedge clk) begin
        if (clear) begin
            written <= {COUNT*WIDTH{1'b0}};
        end else if (write) begin
            written[addr*WIDTH +: WIDTH] <= wdata;
        end
    end

    wire [COUNT*WIDTH-1:0] read_bank;
    generate
        if (SHADOW != 0) begin : g_shadow
            reg [COUNT*WIDTH-1:0] active;
            always @(posedge clk) begin
                if (clear) begin
                    active <= {COUNT*WIDTH{1'b0}};
                end else if (commit) begin
                    active <= written;
                end
            end
            assign fields    = active;
            assign read_bank = rd_active ? active : written;
        end else begin : g_direct
            // One bank: commit and rd_active have nothing to act on.
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused = commit | rd_active;
            /* verilator lint_on UNUSEDSIGNAL */
            assign fields    = written;
            assign read_bank = written;
        end
    endgenerate

    assign rdata = in_range ? read_bank[addr*WIDTH +: WIDTH] : {WIDTH{1'b0}};
endmodule

`default_nettype wire
