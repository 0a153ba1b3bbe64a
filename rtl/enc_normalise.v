// enc_normalise: one cell's count -> input code, count * 2^(FRAC - m).
//
// As encoder.inputpath.normalise: m is the normalisation exponent (the
// module sum's leading one, or a fixed shift); the exact quotient is
// rounded (ROUNDING: 0 floor, 1 half to even, 2 half up) and saturated at
// the unsigned format's top code 2^CODE_BITS - 1. The count is first
// widened by PRE_SHIFT = max(FRAC, 0) zero bits, then shifted right by
// m + POST_SHIFT (POST_SHIFT = max(-FRAC, 0)). Q_BITS is how many bits of
// the floor can be non-zero (with leading-one normalisation count <= sum <
// 2^(m+1), so the floor is below 2^(FRAC+1)); the generator proves it.
`default_nettype none

module enc_normalise #(
    parameter integer COUNT_BITS = 22,
    parameter integer SHIFT_BITS = 5,
    parameter integer PRE_SHIFT  = 7,
    parameter integer POST_SHIFT = 0,
    parameter integer Q_BITS     = 8,
    parameter integer ROUNDING   = 0,
    parameter integer CODE_BITS  = 8
) (
    input  wire [COUNT_BITS-1:0] count,
    input  wire [SHIFT_BITS-1:0] m,
    output wire [CODE_BITS-1:0]  code
);
    localparam integer W  = COUNT_BITS + PRE_SHIFT;
    localparam integer SW = SHIFT_BITS + 1;

    wire [W-1:0] wide;
    generate
        if (PRE_SHIFT > 0) begin : g_pre
            assign wide = {count, {PRE_SHIFT{1'b0}}};
        end else begin : g_no_pre
            assign wide = count;
        end
    endgenerate

    wire [SW-1:0] s = {1'b0, m} + POST_SHIFT[SW-1:0];

    // Floor with the guard bit (the first dropped bit) below it; bits above
    // Q_BITS are zero by the range argument above.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [W:0] floor_guard = {wide, 1'b0} >> s;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [Q_BITS-1:0] q = floor_guard[Q_BITS:1];

    wire up;
    generate
        if (ROUNDING == 0) begin : g_floor
            assign up = 1'b0;
        end else if (ROUNDING == 2) begin : g_half_up
            assign up = floor_guard[0];                 // the guard bit
        end else begin : g_half_even
            // sticky: any dropped bit below the guard bit (mask 2^(s-1) - 1).
            /* verilator lint_off UNUSEDSIGNAL */
            wire [W:0] one_at_s = {{W{1'b0}}, 1'b1} << s;
            /* verilator lint_on UNUSEDSIGNAL */
            wire [W-1:0] below_guard = one_at_s[W:1] - {{(W - 1){1'b0}}, 1'b1};
            wire sticky = |(wide & below_guard);
            assign up = floor_guard[0] & (sticky | q[0]);
        end
    endgenerate

    wire [Q_BITS:0] rounded = {1'b0, q} + {{Q_BITS{1'b0}}, up};

    generate
        if (Q_BITS + 1 > CODE_BITS) begin : g_saturate
            wire over = |rounded[Q_BITS:CODE_BITS];
            assign code = over ? {CODE_BITS{1'b1}} : rounded[CODE_BITS-1:0];
        end else if (Q_BITS + 1 < CODE_BITS) begin : g_widen
            assign code = {{(CODE_BITS - Q_BITS - 1){1'b0}}, rounded};
        end else begin : g_fit
            assign code = rounded;
        end
    endgenerate
endmodule

`default_nettype wire
