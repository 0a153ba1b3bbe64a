// enc_elink_frame: one encoder output word per BX -> the ECON-T e-link frame.
//
// As encoder.econt.framing.frame_words: tx_data carries N_ELINKS 32-bit
// e-link words, link 0 (TX_DATA_0) in the top 32 bits, link i at
// tx_data[32*(N_ELINKS-1-i) +: 32]. Of them the first n = min(n_elinks,
// N_ELINKS) carry the frame (n_elinks is the e-link count register, the
// chip's eporttx_numen); the words of links n..N_ELINKS-1 are zero, as the
// chip's unused TX_DATA columns. The frame on n e-links:
//
//   [ 5-bit BX counter | SUM_BITS module-sum code | latent field of 32n - 5 - SUM_BITS bits ]
//
// Latent field: the latent word (latent j at [LATENT_BITS*j +: LATENT_BITS],
// latent 0 least significant) with the bits whose mask bit is 0 dropped and
// the kept ones packed towards bit 0; its lowest bits go out, bits above the
// word are zero. With the all-ones mask this is the word itself. A count of
// 0 sends nothing (every word zero; tx_valid still marks the BX).
//
// n_elinks and mask are read when the frame is registered: a frame uses the
// values they hold in the cycle its BX is on the inputs (valid high).
//
// BX counter: counts crossings (BXs), whether they carry data or not, as the
// chip's does. A crossing is CROSSING clock cycles (the initiation interval
// of a --reuse design; 1 otherwise). bx_reset is taken on any cycle, valid
// or not (the chip's BX-counter reset fast command): it starts a crossing
// there, which sends 31, and the crossings after it send 1, 2, ... modulo 16
// (only the low 4 bits count, as on the chip). Between bx_resets a crossing
// starts every CROSSING cycles.
//
// The block sits at the end of the datapath, LAG cycles after the inputs, and
// bx_reset must come to it through a LAG-cycle delay line, so that the counter
// runs LAG cycles behind the inputs and a frame carries the BX of the crossing
// its data came in on. Reset puts the counter where a counter reset at the
// inputs was LAG cycles earlier: the first cycle after rst is, at the inputs,
// phase 0 of BX 0 (no 31). A frame is registered in the cycle valid is high.
//
// Output registered: tx_data holds the frame of the BX accepted on the
// previous clock while tx_valid is high (latency 1), and keeps it otherwise.
// Synchronous active-high reset clears tx_valid, tx_data and the counter.
`default_nettype none

module enc_elink_frame #(
    parameter integer N_ELINKS    = 5,      // e-links on tx_data: the most the count can enable
    parameter integer COUNT_BITS  = 3,      // width of n_elinks
    parameter integer N_LATENT    = 16,
    parameter integer LATENT_BITS = 9,
    parameter integer SUM_BITS    = 9,
    parameter integer CROSSING    = 1,      // clock cycles per crossing (BX)
    parameter integer LAG         = 0       // cycles this block runs behind the inputs
) (
    input  wire                            clk,
    input  wire                            rst,
    input  wire                            valid,
    input  wire                            bx_reset,
    input  wire [N_LATENT*LATENT_BITS-1:0] latents,
    input  wire [SUM_BITS-1:0]             sum_code,
    input  wire [COUNT_BITS-1:0]           n_elinks,
    input  wire [N_LATENT*LATENT_BITS-1:0] mask,
    output reg                             tx_valid,
    output reg  [32*N_ELINKS-1:0]          tx_data
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (N_ELINKS < 1 || N_ELINKS > 13) begin : g_check_0
            enc_elink_frame_N_ELINKS_must_be_1_to_13 check_failed ();
        end
        if (32 * N_ELINKS <= 5 + SUM_BITS) begin : g_check_1
            enc_elink_frame_frame_must_have_room_after_the_header check_failed ();
        end
        if (N_LATENT < 1) begin : g_check_2
            enc_elink_frame_N_LATENT_must_be_at_least_1 check_failed ();
        end
        if (LATENT_BITS < 1) begin : g_check_3
            enc_elink_frame_LATENT_BITS_must_be_at_least_1 check_failed ();
        end
        if (SUM_BITS < 1) begin : g_check_4
            enc_elink_frame_SUM_BITS_must_be_at_least_1 check_failed ();
        end
        if (CROSSING < 1) begin : g_check_5
            enc_elink_frame_CROSSING_must_be_at_least_1 check_failed ();
        end
        if (LAG < 0) begin : g_check_6
            enc_elink_frame_LAG_must_not_be_negative check_failed ();
        end
    endgenerate

    localparam integer W         = N_LATENT * LATENT_BITS;   // latent word
    localparam integer BX_BITS   = 5;
    localparam integer HEADER    = BX_BITS + SUM_BITS;
    localparam integer FRAME     = 32 * N_ELINKS;
    // pos indexes packed_word: it counts the kept bits below k < W, so it is below W where it is
    // read (its last increment, past the top bit, is never read); as wide as an index, no wider.
    localparam integer POS_BITS  = (W > 1) ? $clog2(W) : 1;
    localparam [BX_BITS-1:0] BX_RESET_CODE = 5'd31;
    localparam [COUNT_BITS-1:0] MAX_COUNT = N_ELINKS[COUNT_BITS-1:0];

    // -- BX counter. Its reset state is the one LAG cycles before phase 0 of BX 0:
    // ceil(LAG / CROSSING) crossings back, at phase (-LAG) mod CROSSING.
    localparam integer LAG_BX = (LAG + CROSSING - 1) / CROSSING;
    localparam integer COUNT_AT_RESET = (16 - LAG_BX % 16) % 16;
    localparam [3:0]   COUNT_RESET = COUNT_AT_RESET[3:0];
    reg  [3:0]         bx_count;       // this crossing's number, unless it started on a bx_reset
    wire               reset_bx;       // this crossing sends 31
    wire               crossing_end;   // the last cycle of this crossing
    always @(posedge clk) begin
        if (rst) bx_count <= COUNT_RESET;
        else if (bx_reset) bx_count <= crossing_end ? 4'd1 : 4'd0;
        else if (crossing_end) bx_count <= bx_count + 4'd1;
    end
    generate
        if (CROSSING == 1) begin : g_every_cycle
            assign crossing_end = 1'b1;
            assign reset_bx = bx_reset;
        end else begin : g_phase
            localparam integer PHASE_BITS = $clog2(CROSSING);
            localparam integer LAST_PHASE = CROSSING - 1;
            localparam integer PHASE_AT_RESET = (CROSSING - LAG % CROSSING) % CROSSING;
            localparam [PHASE_BITS-1:0] LAST = LAST_PHASE[PHASE_BITS-1:0];
            localparam [PHASE_BITS-1:0] PHASE_RESET = PHASE_AT_RESET[PHASE_BITS-1:0];
            reg [PHASE_BITS-1:0] bx_phase;     // cycle within the crossing
            reg                  bx_held;      // the rest of a crossing that started on a bx_reset
            wire [PHASE_BITS-1:0] phase = bx_reset ? {PHASE_BITS{1'b0}} : bx_phase;
            assign crossing_end = phase == LAST;
            assign reset_bx = bx_reset || bx_held;
            always @(posedge clk) begin
                if (rst) begin
                    bx_phase <= PHASE_RESET;
                    bx_held  <= 1'b0;
                end else begin
                    bx_phase <= crossing_end ? {PHASE_BITS{1'b0}} : phase + 1'b1;
                    bx_held  <= reset_bx && !crossing_end;
                end
            end
        end
    endgenerate
    wire [BX_BITS-1:0] bx_field = reset_bx ? BX_RESET_CODE : {1'b0, bx_count};

    // -- Latent mask: kept bits packed towards bit 0, in order. Bit k goes
    // to the position given by the number of kept bits below it.
    reg [W-1:0]        packed_word;
    reg [POS_BITS-1:0] pos;
    integer k;
    always @* begin
        packed_word = {W{1'b0}};
        pos = {POS_BITS{1'b0}};
        for (k = 0; k < W; k = k + 1) begin
            if (mask[k]) begin
                packed_word[pos] = latents[k];
                pos = pos + 1'b1;
            end
        end
    end

    // -- One frame per e-link count, each N_ELINKS words wide: frame n holds
    // the header and the lowest 32n - HEADER packed bits in its top n words.
    // Count 0 sends nothing. Constant slices only: the count picks one below.
    wire [FRAME-1:0] by_count [0:N_ELINKS];
    wire [HEADER-1:0] header_bits = {bx_field, sum_code};
    assign by_count[0] = {FRAME{1'b0}};
    genvar n;
    generate
        for (n = 1; n <= N_ELINKS; n = n + 1) begin : g_count
            localparam integer FIELD = 32 * n - HEADER;       // latent field on n e-links
            localparam integer EMPTY = FRAME - 32 * n;        // words of the unused e-links
            wire [32*n-1:0] used;
            if (FIELD <= W) begin : g_truncate
                // Bits beyond the field are not sent with this many e-links.
                assign used = {header_bits, packed_word[FIELD-1:0]};
            end else begin : g_extend
                assign used = {header_bits, {(FIELD - W){1'b0}}, packed_word};
            end
            if (EMPTY > 0) begin : g_pad
                assign by_count[n] = {used, {EMPTY{1'b0}}};
            end else begin : g_full
                assign by_count[n] = used;
            end
        end
    endgenerate

    localparam integer MAX_FIELD = FRAME - HEADER;
    generate
        if (MAX_FIELD < W) begin : g_unsent
            // Latent bits beyond the field of every e-link count are never sent.
            /* verilator lint_off UNUSEDSIGNAL */
            wire [W-MAX_FIELD-1:0] unsent = packed_word[W-1:MAX_FIELD];
            /* verilator lint_on UNUSEDSIGNAL */
        end
    endgenerate

    // Counts above N_ELINKS enable every e-link there is.
    wire [COUNT_BITS-1:0] count = (n_elinks > MAX_COUNT) ? MAX_COUNT : n_elinks;
    wire [FRAME-1:0]      frame = by_count[count];

    always @(posedge clk) begin
        if (rst) begin
            tx_valid <= 1'b0;
            tx_data  <= {FRAME{1'b0}};
        end else begin
            tx_valid <= valid;
            if (valid) tx_data <= frame;
        end
    end
endmodule

`default_nettype wire
