// enc_leading_one: position of the highest set bit of x (0 when x is 0).
//
// floor(log2(x)) for x >= 1, as encoder.inputpath.leading_one. Built as a
// binary search over halves (log2(IN_BITS) steps of OR-reduce and mux)
// rather than a priority chain, so the depth grows with log2 of the width.
`default_nettype none

module enc_leading_one #(
    parameter integer IN_BITS  = 28,
    parameter integer OUT_BITS = 5
) (
    input  wire [IN_BITS-1:0]  x,
    output wire [OUT_BITS-1:0] pos
);
    // Parameter checks: a failed check instantiates a module that does not
    // exist, so elaboration stops on every tool with the check's name.
    generate
        if (IN_BITS < 1) begin : g_check_0
            enc_leading_one_IN_BITS_must_be_at_least_1 check_failed ();
        end
        if (OUT_BITS < 1) begin : g_check_1
            enc_leading_one_OUT_BITS_must_be_at_least_1 check_failed ();
        end
        if (IN_BITS > (1 << OUT_BITS)) begin : g_check_2
            enc_leading_one_IN_BITS_must_not_exceed_2_pow_OUT_BITS check_failed ();
        end
    endgenerate

    localparam integer PW = 1 << OUT_BITS;   // x padded to a power of two

    wire [PW-1:0] padded;
    generate
        if (PW > IN_BITS) begin : g_pad
            assign padded = {{(PW - IN_BITS){1'b0}}, x};
        end else begin : g_no_pad
            assign padded = x;
        end
    endgenerate

    localparam [PW-1:0] ONE = {{(PW - 1){1'b0}}, 1'b1};

    // Step l halves the live window (2^(l+1) bits): if its upper half holds
    // a one, that half moves down and bit l of the position is set.
    reg [OUT_BITS-1:0] position;
    reg [PW-1:0]       window;
    integer l;
    always @* begin
        window = padded;
        for (l = OUT_BITS - 1; l >= 0; l = l - 1) begin
            if ((window >> (1 << l)) != {PW{1'b0}}) begin
                position[l] = 1'b1;
                window = window >> (1 << l);
            end else begin
                position[l] = 1'b0;
                window = window & ((ONE << (1 << l)) - ONE);
            end
        end
    end
    assign pos = position;
endmodule

`default_nettype wire
