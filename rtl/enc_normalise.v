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
//
// Area: 48 of these sit in the input path, so the shifter is built for the
// few bits that are kept. The right shift by m runs its stages
// most-significant first: after the stage for bit k only m[k-1:0] < 2^k
// remains to shift, so only the Q_BITS + 1 kept bits (floor and guard) plus
// 2^k - 1 bits above them can still reach the output, and synthesis drops
// the rest of each stage (a least-significant-first shifter carries the full
// width through every stage). The bits a stage shifts out are OR-ed into
// the sticky bit as they go, instead of masking the count a second time.
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
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (COUNT_BITS < 1) begin : g_check_0
            enc_normalise_COUNT_BITS_must_be_at_least_1 check_failed ();
        end
        if (SHIFT_BITS < 1) begin : g_check_1
            enc_normalise_SHIFT_BITS_must_be_at_least_1 check_failed ();
        end
        if (PRE_SHIFT < 0 || POST_SHIFT < 0) begin : g_check_2
            enc_normalise_PRE_SHIFT_and_POST_SHIFT_must_not_be_negative check_failed ();
        end
        if (Q_BITS < 1) begin : g_check_3
            enc_normalise_Q_BITS_must_be_at_least_1 check_failed ();
        end
        if (CODE_BITS < 1) begin : g_check_4
            enc_normalise_CODE_BITS_must_be_at_least_1 check_failed ();
        end
        if (ROUNDING < 0 || ROUNDING > 2) begin : g_check_5
            enc_normalise_ROUNDING_must_be_0_1_or_2 check_failed ();
        end
    endgenerate

    localparam integer W = COUNT_BITS + PRE_SHIFT + 1;   // widened count and a guard position
    localparam [W-1:0] ONE = {{(W - 1){1'b0}}, 1'b1};

    // {count, PRE_SHIFT zeros, guard}: bit 0 ends up as the guard bit (the
    // first dropped bit), bits Q_BITS:1 as the floor.
    wire [W-1:0] widened;
    generate
        if (PRE_SHIFT > 0) begin : g_pre
            assign widened = {count, {PRE_SHIFT{1'b0}}, 1'b0};
        end else begin : g_no_pre
            assign widened = {count, 1'b0};
        end
    endgenerate

    // The constant part of the shift first (free wiring), then m, one
    // stage per bit of m, most significant first; every dropped bit below
    // the guard goes into sticky.
    reg [W-1:0] shifted;
    reg         sticky;
    integer k;
    always @* begin
        shifted = widened >> POST_SHIFT;
        sticky  = (widened & ((ONE << POST_SHIFT) - ONE)) != {W{1'b0}};
        for (k = SHIFT_BITS - 1; k >= 0; k = k - 1) begin
            if (m[k]) begin
                sticky  = sticky | ((shifted & ((ONE << (1 << k)) - ONE)) != {W{1'b0}});
                shifted = shifted >> (1 << k);
            end
        end
    end

    // Bits above Q_BITS are zero by the range argument above. Flooring
    // reads neither the guard nor the sticky bit.
    wire [Q_BITS-1:0] q     = shifted[Q_BITS:1];
    // guard is read only when ROUNDING rounds (not under floor).
    /* verilator lint_off UNUSEDSIGNAL */
    wire              guard = shifted[0];
    /* verilator lint_on UNUSEDSIGNAL */

    wire up;
    generate
        if (ROUNDING == 0) begin : g_floor
            assign up = 1'b0;
        end else if (ROUNDING == 2) begin : g_half_up
            assign up = guard;
        end else begin : g_half_even
            assign up = guard & (sticky | q[0]);
        end
    endgenerate

    generate
        if (Q_BITS >= CODE_BITS) begin : g_saturate
            // Saturate without a mux over the code: any floor bit at or
            // above CODE_BITS, or the carry out of rounding up, forces all
            // ones (OR; the carry leaves the low bits zero).
            wire [CODE_BITS:0] rounded = {1'b0, q[CODE_BITS-1:0]} + {{CODE_BITS{1'b0}}, up};
            wire high;
            if (Q_BITS > CODE_BITS) begin : g_high
                assign high = |q[Q_BITS-1:CODE_BITS];
            end else begin : g_no_high
                assign high = 1'b0;
            end
            assign code = rounded[CODE_BITS-1:0] | {CODE_BITS{high | rounded[CODE_BITS]}};
        end else begin : g_fits
            // q + up <= 2^Q_BITS <= 2^CODE_BITS - 1: no saturation.
            wire [Q_BITS:0] rounded = {1'b0, q} + {{Q_BITS{1'b0}}, up};
            if (Q_BITS + 1 < CODE_BITS) begin : g_widen
                assign code = {{(CODE_BITS - Q_BITS - 1){1'b0}}, rounded};
            end else begin : g_fit
                assign code = rounded;
            end
        end
    endgenerate
endmodule

`default_nettype wire
