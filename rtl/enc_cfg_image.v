// enc_cfg_image: the weight register file as a byte-addressed image, for a
// byte-wide configuration bus (the I2C target).
//
// The image is every weight field packed end to end in register-map order
// (field k of a group at its group's offset + bits * k), BITS bits in all;
// byte a holds image bits [8a +: 8], the last byte's top bits beyond BITS
// are plain storage that nothing reads but the read-back. For the ECON-T
// chip configuration this is the chip's own image: 2,144 six-bit fields,
// 1,608 bytes, AUTOENCODER_<b>INPUT = bytes 134b .. 134b+133.
//
// SHADOW = 1: byte writes land in the shadow image; the active image, which
// the datapath reads, copies bit i of the shadow when commit[i] is high (the
// top level gives each weight group's bits the commit strobe of the pipeline
// stage that reads it). SHADOW = 0: one image written in place, commit
// ignored. CLEAR_ON_RESET = 1: cfg_rst clears both images to zero.
// Read-back (combinational, registered by the top level): rd_active selects
// the active image (1) or the shadow (0); addresses past the image read 0.
`default_nettype none

module enc_cfg_image #(
    parameter integer BITS           = 12864,
    parameter integer ADDR_BITS      = 16,
    parameter integer SHADOW         = 1,
    parameter integer CLEAR_ON_RESET = 1
) (
    input  wire                 clk,
    input  wire                 cfg_rst,
    input  wire                 we,
    input  wire [ADDR_BITS-1:0] addr,
    input  wire [7:0]           wdata,
    input  wire [BITS-1:0]      commit,     // commit[i]: the active image copies shadow bit i
    input  wire                 rd_active,
    output wire [BITS-1:0]      fields,     // the active image, to the datapath
    output wire [7:0]           rdata
);
    localparam integer BYTES = (BITS + 7) / 8;

    generate
        if (BITS < 1) begin : g_check_bits
            enc_cfg_image_BITS_must_be_at_least_1 check_failed ();
        end
        if (BYTES > (1 << ADDR_BITS)) begin : g_check_addr
            enc_cfg_image_BITS_must_fit_2_pow_ADDR_BITS_bytes check_failed ();
        end
        if (SHADOW != 0 && SHADOW != 1) begin : g_check_shadow
            enc_cfg_image_SHADOW_must_be_0_or_1 check_failed ();
        end
        if (CLEAR_ON_RESET != 0 && CLEAR_ON_RESET != 1) begin : g_check_clear
            enc_cfg_image_CLEAR_ON_RESET_must_be_0_or_1 check_failed ();
        end
    endgenerate

    localparam [ADDR_BITS:0] LIMIT = BYTES[ADDR_BITS:0];
    wire in_range = {1'b0, addr} < LIMIT;
    wire clear    = cfg_rst && (CLEAR_ON_RESET != 0);

    // One vector register per image (see enc_cfg_block: one event per write in simulation).
    // The images are wider than Verilator's 8k-bit replication guess on purpose.
    /* verilator lint_off WIDTHCONCAT */
    localparam [8*BYTES-1:0] ZEROS = {8*BYTES{1'b0}};
    /* verilator lint_on WIDTHCONCAT */
    reg [8*BYTES-1:0] written;
    always @(posedge clk) begin
        if (clear) begin
            written <= ZEROS;
        end else if (we && in_range) begin
            written[addr*8 +: 8] <= wdata;
        end
    end

    wire [8*BYTES-1:0] read_image;
    generate
        if (SHADOW != 0) begin : g_shadow
            reg [BITS-1:0] active;
            always @(posedge clk) begin
                if (clear) begin
                    active <= ZEROS[BITS-1:0];
                end else if (|commit) begin
                    // Bit by bit: each group copies on its own stage's strobe.
                    active <= (active & ~commit) | (written[BITS-1:0] & commit);
                end
            end
            assign fields = active;
            if (8 * BYTES == BITS) begin : g_whole
                assign read_image = rd_active ? active : written;
            end else begin : g_pad
                assign read_image = rd_active ? {written[8*BYTES-1:BITS], active} : written;
            end
        end else begin : g_direct
            // One image: commit and rd_active have nothing to act on.
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused = rd_active | (|commit);
            /* verilator lint_on UNUSEDSIGNAL */
            assign fields     = written[BITS-1:0];
            assign read_image = written;
        end
    endgenerate

    assign rdata = in_range ? read_image[addr*8 +: 8] : 8'd0;
endmodule

`default_nettype wire
