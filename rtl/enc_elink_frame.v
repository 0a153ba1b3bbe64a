// enc_elink_frame: one encoder output word per BX -> the ECON-T e-link frame.
//
// As encoder.econt.framing.frame_words: per BX the N_ELINKS active e-links
// carry N_ELINKS * 32 bits, link 0 (TX_DATA_0) in the top 32 bits of tx_data,
// link i at tx_data[32*(N_ELINKS-1-i) +: 32]:
//
//   [ 5-bit BX counter | SUM_BITS module-sum code | latent field of 32N - 5 - SUM_BITS bits ]
//
// Latent field: the latent word (latent j at [LATENT_BITS*j +: LATENT_BITS],
// latent 0 least significant) with the bits whose mask bit is 0 dropped and
// the kept ones packed towards bit 0; its lowest bits go out, bits above the
// word are zero. With the all-ones mask this is the word itself.
//
// BX counter: counts accepted BXs (valid high) modulo 16 from reset; a BX
// with bx_reset high (the chip's BX-counter reset fast command) sends 31 and
// the next BX sends 1. Only the low 4 bits count, as on the chip.
//
// Output registered: tx_data holds the frame of the BX accepted on the
// previous clock while tx_valid is high (latency 1), and keeps it otherwise.
// Synchronous active-high reset clears tx_valid, tx_data and the counter.
`default_nettype none

module enc_elink_frame #(
    parameter integer N_ELINKS    = 5,
    parameter integer N_LATENT    = 16,
    parameter integer LATENT_BITS = 9,
    parameter integer SUM_BITS    = 9
) (
    input  wire                            clk,
    input  wire                            rst,
    input  wire                            valid,
    input  wire                            bx_reset,
    input  wire [N_LATENT*LATENT_BITS-1:0] latents,
    input  wire [SUM_BITS-1:0]             sum_code,
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
    endgenerate

    localparam integer W         = N_LATENT * LATENT_BITS;   // latent word
    localparam integer BX_BITS   = 5;
    localparam integer FRAME     = 32 * N_ELINKS;
    localparam integer FIELD     = FRAME - BX_BITS - SUM_BITS;  // latent field
    localparam integer POS_BITS  = $clog2(W + 1);
    localparam [BX_BITS-1:0] BX_RESET_CODE = 5'd31;

    // -- BX counter
    reg  [3:0]         bx_count;
    wire [BX_BITS-1:0] bx_field = bx_reset ? BX_RESET_CODE : {1'b0, bx_count};
    always @(posedge clk) begin
        if (rst) bx_count <= 4'd0;
        else if (valid) bx_count <= bx_reset ? 4'd1 : bx_count + 4'd1;
    end

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

    // -- Latent field: the lowest FIELD bits of the packed word, zero above it.
    wire [FIELD-1:0] latent_field;
    generate
        if (FIELD <= W) begin : g_truncate
            assign latent_field = packed_word[FIELD-1:0];
            if (FIELD < W) begin : g_unsent
                // Bits beyond the field are not sent with this many e-links.
                /* verilator lint_off UNUSEDSIGNAL */
                wire [W-FIELD-1:0] unsent = packed_word[W-1:FIELD];
                /* verilator lint_on UNUSEDSIGNAL */
            end
        end else begin : g_extend
            assign latent_field = {{(FIELD - W){1'b0}}, packed_word};
        end
    endgenerate

    wire [FRAME-1:0] frame = {bx_field, sum_code, latent_field};

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
