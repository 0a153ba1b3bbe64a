// enc_i2c_target: I2C target (slave) giving byte access to a register space.
//
// Protocol (the usual register-pointer convention):
//   write: S | ADDRESS+W | A | reg[15:8] | A | reg[7:0] | A | data | A | data | A ... | P
//   read:  S | ADDRESS+W | A | reg[15:8] | A | reg[7:0] | A | Sr | ADDRESS+R | A | data | A ... | data | N | P
// Each data byte goes to (or comes from) the register pointer, which then
// increments (auto-increment); a read without a pointer phase continues
// from the pointer. The pointer survives STOP. Another target's address
// is not acknowledged and the target waits for the next START.
//
// Clock domains: scl and sda come straight from the pads and are
// asynchronous to clk. Each passes a two-flop synchroniser, then a filter
// that takes a new level only after it has been seen on FILTER consecutive
// clocks (spike suppression, the I2C standard's 50 ns in fast mode); every
// decision is taken on the filtered levels in the clk domain, so nothing
// downstream sees a metastable or glitching input. clk must run at least
// 20 times faster than SCL (40 MHz against 400 kHz fast mode: 100 times),
// so that START/STOP (SDA moving while SCL is high) and data (SDA moving
// while SCL is low) stay apart after the synchroniser and the filter.
// sda_oe is changed only while SCL is low, a few clocks after its falling
// edge (data hold time > 0, setup time before the next rising edge far
// above the 100 ns fast mode needs).
//
// Byte bus (clk domain): addr is the register pointer; a write pulses we
// for one clock with wdata. rdata must be the byte at addr one clock later
// (a registered read-back); the target loads it on the SCL falling edge
// that starts a read byte, at least half an SCL period after addr settled.
// rst (the configuration reset) returns the target to idle, pointer 0.
`default_nettype none

module enc_i2c_target #(
    parameter [6:0]   ADDRESS = 7'h20,
    parameter integer FILTER  = 2
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        scl,        // pad input
    input  wire        sda,        // pad input
    output reg         sda_oe,     // 1: pull SDA low (open drain)
    output reg         we,
    output wire [15:0] addr,
    output reg  [7:0]  wdata,
    input  wire [7:0]  rdata
);
    generate
        if (FILTER < 1 || FILTER > 15) begin : g_check_filter
            enc_i2c_target_FILTER_must_be_1_to_15 check_failed ();
        end
    endgenerate

    // -- synchronisers and glitch filters ------------------------------
    wire scl_f, sda_f;
    enc_i2c_sync_filter #(.FILTER(FILTER)) u_scl (.clk(clk), .rst(rst), .d(scl), .q(scl_f));
    enc_i2c_sync_filter #(.FILTER(FILTER)) u_sda (.clk(clk), .rst(rst), .d(sda), .q(sda_f));

    reg scl_q, sda_q;     // filtered levels one clock ago: edges
    always @(posedge clk) begin
        if (rst) begin
            scl_q <= 1'b1;
            sda_q <= 1'b1;
        end else begin
            scl_q <= scl_f;
            sda_q <= sda_f;
        end
    end
    wire scl_rise = scl_f && !scl_q;
    wire scl_fall = !scl_f && scl_q;
    wire start    = scl_f && scl_q && sda_q && !sda_f;   // SDA falls while SCL is high
    wire stop     = scl_f && scl_q && !sda_q && sda_f;   // SDA rises while SCL is high

    // -- protocol ----------------------------------------------------------
    localparam [2:0] IDLE = 3'd0,   // wait for START (also after another target's address)
                     DEV  = 3'd1,   // receiving the address byte
                     PHI  = 3'd2,   // receiving the pointer, high byte
                     PLO  = 3'd3,   // receiving the pointer, low byte
                     WR   = 3'd4,   // receiving data bytes
                     RD   = 3'd5;   // sending data bytes

    reg [2:0]  state;
    reg [3:0]  bit_n;      // SCL rises seen in the current byte: 0..8 data bits, 9 with the acknowledge
    reg [7:0]  shift;
    reg [15:0] pointer;
    reg        read;       // the address byte asked for a read
    reg        nacked;     // the controller did not acknowledge our byte: stop sending

    assign addr = pointer;

    always @(posedge clk) begin
        we <= 1'b0;
        if (rst) begin
            state   <= IDLE;
            bit_n   <= 4'd0;
            shift   <= 8'd0;
            pointer <= 16'd0;
            read    <= 1'b0;
            nacked  <= 1'b0;
            sda_oe  <= 1'b0;
            wdata   <= 8'd0;
        end else if (start) begin
            state  <= DEV;
            bit_n  <= 4'd0;
            sda_oe <= 1'b0;
        end else if (stop) begin
            state  <= IDLE;
            sda_oe <= 1'b0;
        end else if (state != IDLE && scl_rise) begin
            if (bit_n < 4'd8 && state != RD) begin
                shift <= {shift[6:0], sda_f};
            end else if (bit_n == 4'd8 && state == RD) begin
                // The controller's acknowledge of our byte; the next byte comes from pointer + 1.
                nacked  <= sda_f;
                pointer <= pointer + 16'd1;
            end
            bit_n <= bit_n + 4'd1;
        end else if (state != IDLE && scl_fall) begin
            if (bit_n == 4'd8) begin
                // Eight bits done: acknowledge a received byte and act on it, or release SDA for the
                // controller's acknowledge of ours.
                case (state)
                    DEV: begin
                        sda_oe <= shift[7:1] == ADDRESS;
                        read   <= shift[0];
                        if (shift[7:1] != ADDRESS) state <= IDLE;
                    end
                    PHI: begin
                        pointer[15:8] <= shift;
                        sda_oe <= 1'b1;
                    end
                    PLO: begin
                        pointer[7:0] <= shift;
                        sda_oe <= 1'b1;
                    end
                    WR: begin
                        we     <= 1'b1;
                        wdata  <= shift;
                        sda_oe <= 1'b1;
                    end
                    default: sda_oe <= 1'b0;    // RD
                endcase
            end else if (bit_n == 4'd9) begin
                // End of the acknowledge bit: the next byte.
                bit_n  <= 4'd0;
                sda_oe <= 1'b0;
                case (state)
                    DEV: begin
                        if (read) begin     // first bit of the byte at the pointer
                            state  <= RD;
                            nacked <= 1'b0;
                            shift  <= rdata;
                            sda_oe <= !rdata[7];
                        end else begin
                            state <= PHI;
                        end
                    end
                    PHI: state <= PLO;
                    PLO: state <= WR;
                    WR:  pointer <= pointer + 16'd1;
                    default: begin          // RD: the next byte, or let go of the bus after a NACK
                        if (nacked) begin
                            state <= IDLE;
                        end else begin
                            shift  <= rdata;
                            sda_oe <= !rdata[7];
                        end
                    end
                endcase
            end else if (state == RD && bit_n != 4'd0) begin
                sda_oe <= !shift[3'd7 - bit_n[2:0]];     // bits 6..0 after bit 7
            end
        end
    end
endmodule

`default_nettype wire

