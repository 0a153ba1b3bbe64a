// enc_cfg_ctrl: control and status registers of the configuration port.
//
// The weight fields occupy addresses 0..BASE-1 (the enc_cfg_block banks);
// this block holds the seven registers at BASE..BASE+6, one field per
// address like the weights (bit 0 of each word unless stated):
//
//   BASE+0  COMMIT     write 1: copy every shadow bank into its active bank
//                      (reads 0)
//   BASE+1  ENABLE     read/write: let valid_in through once weights are loaded
//   BASE+2  RD_ACTIVE  read/write: read-back shows the active banks (1) or the
//                      shadow banks (0)
//   BASE+3  STATUS     read only: bit 0 weights loaded (a commit since the
//                      configuration reset); bit 1 a commit is still copying
//                      (weight writes are dropped now; DATA_BITS >= 2)
//   BASE+4  COMMITS    read only: commits since the configuration reset,
//                      modulo 2^DATA_BITS
//   BASE+5  UNMAPPED   read only: writes to unmapped addresses (neither these
//                      registers nor `mapped`) since the configuration reset,
//                      saturating at 2^DATA_BITS-1
//   BASE+6  DROPPED    read only: weight writes dropped because a commit was
//                      still copying, saturating at 2^DATA_BITS-1
//
// cfg_rst wins over a write in the same cycle: ENABLE, RD_ACTIVE and the
// counters stay at their reset values and a COMMIT raises no strobe.
//
// Writes to read-only registers are ignored; reads of unmapped addresses
// return zero (rdata below, and the banks read zero out of range).
//
// Commit timing: the COMMIT write registers a strobe (commit[0] in the
// cycle after the write); commit[k] follows it by k cycles. The top level
// gives each bank the strobe of the pipeline stage that consumes its
// fields, so the crossing that meets the new weights in the first stage
// meets them in every later stage too: a crossing sampled on valid_in two
// clock edges after the COMMIT write (or later) uses the new set, every
// earlier one the old set, whatever is in flight.
//
// Writes during the copy (SHADOW = 1): the banks of later stages copy up to
// STAGES-1 clocks after the earliest. A weight write in that window would
// land in a shadow bank still to copy and join the committed set in the
// later stages only, so a crossing could meet two sets. `pending` is high
// while a bank has yet to copy: a weight write (`banked`) then does not
// reach the banks (`bank_we` low), is counted in DROPPED, and STATUS bit 1
// tells the host to wait. With --reuse the last layer's copy also waits
// while a crossing is between its phases (`last_mid`; `last_held`: its
// strobe came and is held): the top level's registers say so. (Computed
// here from registers only, so no path leaves this block and comes back.)
//
// run = ENABLE && loaded gates valid_in: before a complete weight set has
// been committed nothing enters the datapath.
`default_nettype none

module enc_cfg_ctrl #(
    parameter integer ADDR_BITS = 12,
    parameter integer DATA_BITS = 6,
    parameter integer BASE      = 2144,
    parameter integer STAGES    = 1,
    parameter integer SHADOW    = 1     // 1: the banks copy on the strobes; 0: direct banks, nothing pending
) (
    input  wire                 clk,
    input  wire                 cfg_rst,    // configuration reset, synchronous, active high
    input  wire                 we,
    input  wire [ADDR_BITS-1:0] addr,
    input  wire                 mapped,     // addr is another block's register (weights, framing)
    input  wire                 banked,     // addr is a weight field (a register a COMMIT copies)
    input  wire                 last_held,  // --reuse: the last stage's copy is held back
    input  wire                 last_mid,   // --reuse: a crossing is between phases of the last layer
    // Every writable control register is one bit: the upper data bits are ignored.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [DATA_BITS-1:0] wdata,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [STAGES-1:0]    commit,     // commit[k]: the banks of pipeline stage k copy now
    output wire                 bank_we,    // the write may reach the weight banks
    output wire                 run,        // valid_in may enter the datapath
    output wire                 rd_active,
    output wire                 sel,        // addr is one of these registers (read-back mux)
    output reg  [DATA_BITS-1:0] rdata       // the addressed register, zero-extended
);
    generate
        if (BASE + 7 > (1 << ADDR_BITS)) begin : g_check_base
            enc_cfg_ctrl_BASE_plus_7_must_fit_ADDR_BITS check_failed ();
        end
        if (STAGES < 1) begin : g_check_stages
            enc_cfg_ctrl_STAGES_must_be_at_least_1 check_failed ();
        end
        if (DATA_BITS < 1) begin : g_check_data
            enc_cfg_ctrl_DATA_BITS_must_be_at_least_1 check_failed ();
        end
        if (SHADOW != 0 && SHADOW != 1) begin : g_check_shadow
            enc_cfg_ctrl_SHADOW_must_be_0_or_1 check_failed ();
        end
    endgenerate

    // Integer sums first, then sized slices: the comparisons stay at the port widths.
    localparam integer I_ENABLE = BASE + 1, I_RD_ACTIVE = BASE + 2, I_STATUS = BASE + 3,
                       I_COMMITS = BASE + 4, I_UNMAPPED = BASE + 5, I_DROPPED = BASE + 6,
                       I_END = BASE + 7;
    localparam [ADDR_BITS-1:0] A_COMMIT    = BASE[ADDR_BITS-1:0];
    localparam [ADDR_BITS-1:0] A_ENABLE    = I_ENABLE[ADDR_BITS-1:0];
    localparam [ADDR_BITS-1:0] A_RD_ACTIVE = I_RD_ACTIVE[ADDR_BITS-1:0];
    localparam [ADDR_BITS-1:0] A_STATUS    = I_STATUS[ADDR_BITS-1:0];
    localparam [ADDR_BITS-1:0] A_COMMITS   = I_COMMITS[ADDR_BITS-1:0];
    localparam [ADDR_BITS-1:0] A_UNMAPPED  = I_UNMAPPED[ADDR_BITS-1:0];
    localparam [ADDR_BITS-1:0] A_DROPPED   = I_DROPPED[ADDR_BITS-1:0];
    localparam [ADDR_BITS:0]   FIRST       = BASE[ADDR_BITS:0];     // first control address
    localparam [ADDR_BITS:0]   END         = I_END[ADDR_BITS:0];    // first unmapped address
    localparam [DATA_BITS-1:0] ONE         = 1;
    localparam integer         I_TWO       = 2;
    localparam [DATA_BITS-1:0] TWO         = I_TWO[DATA_BITS-1:0];  // 0 when DATA_BITS = 1
    localparam [DATA_BITS-1:0] ALL_ONES    = {DATA_BITS{1'b1}};

    reg                 enable;
    reg                 read_active;
    reg                 loaded;
    reg [DATA_BITS-1:0] commits;
    reg [DATA_BITS-1:0] unmapped;
    reg [DATA_BITS-1:0] dropped;
    reg [STAGES-1:0]    commit_pipe;

    wire unmapped_write = we && !mapped && !sel;
    wire commit_write   = we && addr == A_COMMIT && wdata[0];
    wire dropped_write  = we && banked && pending;

    always @(posedge clk) begin
        if (cfg_rst) begin
            enable      <= 1'b0;
            read_active <= 1'b0;
            loaded      <= 1'b0;
            commits     <= {DATA_BITS{1'b0}};
            unmapped    <= {DATA_BITS{1'b0}};
            dropped     <= {DATA_BITS{1'b0}};
        end else begin
            if (we && addr == A_ENABLE) enable <= wdata[0];
            if (we && addr == A_RD_ACTIVE) read_active <= wdata[0];
            if (commit_write) commits <= commits + ONE;
            // Set with the first stage's copy, not with the write: the first
            // crossing let through then meets the committed weights.
            if (commit_pipe[0]) loaded <= 1'b1;
            if (unmapped_write && unmapped != ALL_ONES) unmapped <= unmapped + ONE;
            if (dropped_write && dropped != ALL_ONES) dropped <= dropped + ONE;
        end
    end

    // pending: a bank has yet to copy the last COMMIT. A copy waits past the last strobe only while
    // held for a crossing (--reuse).
    wire pending;
    wire last_waits = (commit_pipe[STAGES-1] || last_held) && last_mid;
    generate
        if (STAGES == 1) begin : g_one_stage
            always @(posedge clk) commit_pipe <= !cfg_rst && commit_write;
            assign pending = SHADOW != 0 && last_waits;
        end else begin : g_stages
            always @(posedge clk) begin
                if (cfg_rst) commit_pipe <= {STAGES{1'b0}};
                else commit_pipe <= {commit_pipe[STAGES-2:0], commit_write};
            end
            assign pending = SHADOW != 0 && (|commit_pipe[STAGES-2:0] || last_waits);
        end
    endgenerate

    assign commit    = commit_pipe;
    assign bank_we   = we && !pending;
    assign run       = enable && loaded;
    assign rd_active = read_active;
    assign sel       = ({1'b0, addr} >= FIRST) && ({1'b0, addr} < END);

    // STATUS: bit 0 loaded, bit 1 pending (no room for it when DATA_BITS = 1).
    wire [DATA_BITS-1:0] status = (ONE & {DATA_BITS{loaded}}) | (TWO & {DATA_BITS{pending}});

    always @* begin
        case (addr)
            A_ENABLE:    rdata = ONE & {DATA_BITS{enable}};
            A_RD_ACTIVE: rdata = ONE & {DATA_BITS{read_active}};
            A_STATUS:    rdata = status;
            A_COMMITS:   rdata = commits;
            A_UNMAPPED:  rdata = unmapped;
            A_DROPPED:   rdata = dropped;
            default:     rdata = {DATA_BITS{1'b0}};
        endcase
    end
endmodule

`default_nettype wire
