// A hand-written 4-cell encoder that follows tests/data/verif/tiny_a.json:
// leading-one normalisation to u4.3 (half to even, saturating), one dense
// layer 4 -> 2 with s4.2 weights and biases, ReLU, u5.2 outputs (half to
// even, saturating), and the 9-bit module-sum code (5-bit exponent, 4-bit
// mantissa). Two register stages: latency 2 cycles, one module per cycle.
// It stands in for generated designs in the verification kit's own tests.

module tiny_encoder_core (
    input  wire        clk,
    input  wire        rst,
    input  wire        in_valid,
    input  wire [31:0] in_counts,     // cell i in bits [8i+7:8i]
    input  wire [39:0] weights,       // code k (k = 2*cell + output) in bits [4k+3:4k], biases at k = 8, 9
    output reg         out_valid,
    output reg  [9:0]  out_latents,   // latent j in bits [5j+4:5j]
    output reg  [8:0]  out_sum_code
);
    // ---- stage 1: module sum, leading one, normalisation, sum code ----
    wire [7:0] c0 = in_counts[7:0];
    wire [7:0] c1 = in_counts[15:8];
    wire [7:0] c2 = in_counts[23:16];
    wire [7:0] c3 = in_counts[31:24];
    wire [9:0] s = {2'b0, c0} + {2'b0, c1} + {2'b0, c2} + {2'b0, c3};

    reg [3:0] m;                      // floor(log2(s)), 0 for s == 0
    integer b;
    always @* begin
        m = 4'd0;
        for (b = 0; b < 10; b = b + 1)
            if (s[b]) m = b[3:0];
    end

    function [3:0] norm;              // c * 2^(3-m), half to even, saturated at 15
        input [7:0] c;
        input [3:0] mm;
        reg [10:0] wide;
        reg [7:0] q, rem, half;
        reg up;
        reg [8:0] r9;
        begin
            if (mm <= 4'd3) begin
                wide = {3'b0, c} << (4'd3 - mm);
                norm = (wide > 11'd15) ? 4'd15 : wide[3:0];
            end else begin
                q = c >> (mm - 4'd3);
                rem = c - (q << (mm - 4'd3));
                half = 8'd1 << (mm - 4'd4);
                up = (rem > half) || ((rem == half) && q[0]);
                r9 = {1'b0, q} + up;
                norm = (r9 > 9'd15) ? 4'd15 : r9[3:0];
            end
        end
    endfunction

    wire [8:0] sum_code = (s < 10'd16) ? {5'd0, s[3:0]}
                                       : {1'b0, m - 4'd3, 4'(s >> (m - 4'd4))};

    reg        v1;
    reg [15:0] x1;                    // four u4.3 codes
    reg [8:0]  sc1;
    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0;
            x1 <= 16'd0;
            sc1 <= 9'd0;
        end else begin
            v1 <= in_valid;
            x1 <= {norm(c3, m), norm(c2, m), norm(c1, m), norm(c0, m)};
            sc1 <= sum_code;
        end
    end

    // ---- stage 2: dense layer, ReLU, requantisation ----
    function signed [3:0] w;
        input integer k;
        w = weights[4*k +: 4];
    endfunction

    function [4:0] requant;           // acc at frac 5 -> u5.2: ReLU, >> 3 half to even, saturate 31
        input signed [10:0] acc;
        reg [10:0] q;
        reg [2:0] rem;
        reg up;
        begin
            if (acc < 0) requant = 5'd0;
            else begin
                q = acc >>> 3;
                rem = acc[2:0];
                up = (rem > 3'd4) || ((rem == 3'd4) && q[0]);
                q = q + up;
                requant = (q > 11'd31) ? 5'd31 : q[4:0];
            end
        end
    endfunction

    function signed [10:0] mac;
        input integer o;
        integer i;
        begin
            mac = 11'($signed({w(8 + o), 3'b000}));   // the bias, sign-extended
            for (i = 0; i < 4; i = i + 1)
                mac = mac + $signed({1'b0, x1[4*i +: 4]}) * w(2*i + o);
        end
    endfunction

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            out_latents <= 10'd0;
            out_sum_code <= 9'd0;
        end else begin
            out_valid <= v1;
            // Data registers load only with valid data: before the weights are
            // written their contents are unknown, and outputs must never show X.
            if (v1) begin
                out_latents <= {requant(mac(1)), requant(mac(0))};
                out_sum_code <= sc1;
            end
        end
    end
endmodule


// Weights in configuration registers, written and read back one per address.
module tiny_encoder_prog (
    input  wire        clk,
    input  wire        rst,
    input  wire        in_valid,
    input  wire [31:0] in_counts,
    output wire        out_valid,
    output wire [9:0]  out_latents,
    output wire [8:0]  out_sum_code,
    input  wire        cfg_we,
    input  wire [3:0]  cfg_addr,
    input  wire [7:0]  cfg_wdata,
    output reg  [7:0]  cfg_rdata
);
    reg [3:0] regs [0:9];
    wire [39:0] weights;
    genvar k;
    generate
        for (k = 0; k < 10; k = k + 1) begin : g_w
            assign weights[4*k +: 4] = regs[k];
        end
    endgenerate

    // Registers keep their contents through the datapath reset: the model
    // is configured once and survives a resynchronisation.
    integer i;
    always @(posedge clk) begin
        if (cfg_we && cfg_addr < 4'd10) regs[cfg_addr] <= cfg_wdata[3:0];
        cfg_rdata <= (cfg_addr < 4'd10) ? {4'd0, regs[cfg_addr]} : 8'd0;
    end

    tiny_encoder_core core (.clk(clk), .rst(rst), .in_valid(in_valid), .in_counts(in_counts),
                            .weights(weights), .out_valid(out_valid), .out_latents(out_latents),
                            .out_sum_code(out_sum_code));
endmodule


// The weights of tiny_a.json as constants.
module tiny_encoder_const (
    input  wire        clk,
    input  wire        rst,
    input  wire        in_valid,
    input  wire [31:0] in_counts,
    output wire        out_valid,
    output wire [9:0]  out_latents,
    output wire [8:0]  out_sum_code
);
    // k = 2*cell + output: [[7,-3],[5,6],[-8,7],[2,4]], biases [3,-2]
    localparam [39:0] WEIGHTS = {4'hE, 4'h3, 4'h4, 4'h2, 4'h7, 4'h8, 4'h6, 4'h5, 4'hD, 4'h7};

    tiny_encoder_core core (.clk(clk), .rst(rst), .in_valid(in_valid), .in_counts(in_counts),
                            .weights(WEIGHTS), .out_valid(out_valid), .out_latents(out_latents),
                            .out_sum_code(out_sum_code));
endmodule
