// enc_i2c_sync_filter: two-flop synchroniser of an asynchronous pad input,
// then a level filter: q takes the synchronised level only after it has
// held for FILTER consecutive clocks. Resets to 1 (the bus's idle level).
`default_nettype none

module enc_i2c_sync_filter #(
    parameter integer FILTER = 2
) (
    input  wire clk,
    input  wire rst,
    input  wire d,
    output reg  q
);
    generate
        if (FILTER < 1 || FILTER > 15) begin : g_check_filter
            enc_i2c_sync_filter_FILTER_must_be_1_to_15 check_failed ();
        end
    endgenerate

    // The first flop may go metastable; the second gives it a clock period to settle.
    (* async_reg = "true" *) reg [1:0] sync;
    reg [3:0] differ;         // clocks the synchronised level has differed from q
    always @(posedge clk) begin
        if (rst) begin
            sync   <= 2'b11;
            differ <= 4'd0;
            q      <= 1'b1;
        end else begin
            sync <= {sync[0], d};
            if (sync[1] == q) begin
                differ <= 4'd0;
            end else if (differ == FILTER[3:0] - 4'd1) begin
                q      <= sync[1];
                differ <= 4'd0;
            end else begin
                differ <= differ + 4'd1;
            end
        end
    end
endmodule

`default_nettype wire
