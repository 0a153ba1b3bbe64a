// Techmap rules for algebraic rewriting (encoder/verify/algebra.py): yosys' $add, $sub and $alu
// cells as ripple-carry adders and $mul as shift-and-add rows of them. yosys' own map builds
// Brent-Kung carry trees, whose carries expand into exponentially many monomials when rewritten from
// the outputs back; a ripple adder's carry cancels against the sum bit above it. A cell's function is
// unchanged; only the AIG that spells it is.
// An adder or subtractor is the ripple $alu below with the carry in and the inversion of B set
// (A - B = A + ~B + 1); techmap maps the $alu in turn.
(* techmap_celltype = "$add $sub" *)
module _ripple_addsub (A, B, Y);
    parameter A_SIGNED = 0;
    parameter B_SIGNED = 0;
    parameter A_WIDTH = 1;
    parameter B_WIDTH = 1;
    parameter Y_WIDTH = 1;
    parameter _TECHMAP_CELLTYPE_ = "";
    localparam SUB = _TECHMAP_CELLTYPE_ == "$sub";
    wire _TECHMAP_FAIL_ = A_WIDTH == 0 || B_WIDTH == 0;     // yosys' own map takes these
    input [A_WIDTH-1:0] A;
    input [B_WIDTH-1:0] B;
    output [Y_WIDTH-1:0] Y;
    wire [Y_WIDTH-1:0] x, co;
    \$alu #(.A_SIGNED(A_SIGNED), .B_SIGNED(B_SIGNED), .A_WIDTH(A_WIDTH), .B_WIDTH(B_WIDTH), .Y_WIDTH(Y_WIDTH))
        alu (.A(A), .B(B), .CI(SUB ? 1'b1 : 1'b0), .BI(SUB ? 1'b1 : 1'b0), .X(x), .Y(Y), .CO(co));
endmodule

(* techmap_celltype = "$alu" *)
module _ripple_alu (A, B, CI, BI, X, Y, CO);
    parameter A_SIGNED = 0;
    parameter B_SIGNED = 0;
    parameter A_WIDTH = 1;
    parameter B_WIDTH = 1;
    parameter Y_WIDTH = 1;
    input [A_WIDTH-1:0] A;
    input [B_WIDTH-1:0] B;
    input CI, BI;
    output [Y_WIDTH-1:0] X, Y, CO;
    wire _TECHMAP_FAIL_ = A_WIDTH == 0 || B_WIDTH == 0;
    wire [Y_WIDTH-1:0] a, b0, b;
    wire [Y_WIDTH:0] c;
    \$pos #(.A_SIGNED(A_SIGNED), .A_WIDTH(A_WIDTH), .Y_WIDTH(Y_WIDTH)) ext_a (.A(A), .Y(a));
    \$pos #(.A_SIGNED(B_SIGNED), .A_WIDTH(B_WIDTH), .Y_WIDTH(Y_WIDTH)) ext_b (.A(B), .Y(b0));
    assign b = b0 ^ {Y_WIDTH{BI}};
    assign X = a ^ b;
    assign c[0] = CI;
    genvar i;
    generate for (i = 0; i < Y_WIDTH; i = i + 1) begin : bit
        assign Y[i] = X[i] ^ c[i];
        assign c[i + 1] = (a[i] & b[i]) | (X[i] & c[i]);
        assign CO[i] = c[i + 1];
    end endgenerate
endmodule

// Y = sum over i < B_WIDTH of (B[i] ? A << i : 0), the top row subtracted when B is signed (its
// weight is -2^(B_WIDTH-1)), modulo 2^Y_WIDTH, A first extended to Y_WIDTH bits by its signedness.
// Extending B instead would add a row per sign bit, and the partial sums of those rows expand into
// far more monomials. With a constant B (a programmable layer's weight tied) zero rows fold away.
(* techmap_celltype = "$mul" *)
module _shift_add_mul (A, B, Y);
    parameter A_SIGNED = 0;
    parameter B_SIGNED = 0;
    parameter A_WIDTH = 1;
    parameter B_WIDTH = 1;
    parameter Y_WIDTH = 1;
    input [A_WIDTH-1:0] A;
    input [B_WIDTH-1:0] B;
    output [Y_WIDTH-1:0] Y;
    wire _TECHMAP_FAIL_ = A_WIDTH == 0 || B_WIDTH == 0;
    localparam N = B_WIDTH < Y_WIDTH ? B_WIDTH : Y_WIDTH;
    wire [Y_WIDTH-1:0] a;
    wire [Y_WIDTH*(N+1)-1:0] part;
    \$pos #(.A_SIGNED(A_SIGNED), .A_WIDTH(A_WIDTH), .Y_WIDTH(Y_WIDTH)) ext_a (.A(A), .Y(a));
    assign part[Y_WIDTH-1:0] = {Y_WIDTH{1'b0}};
    genvar i;
    generate for (i = 0; i < N; i = i + 1) begin : row
        if (B_SIGNED && i == B_WIDTH - 1) begin : sign
            assign part[(i+1)*Y_WIDTH +: Y_WIDTH] = part[i*Y_WIDTH +: Y_WIDTH] - ((a << i) & {Y_WIDTH{B[i]}});
        end else begin : magnitude
            assign part[(i+1)*Y_WIDTH +: Y_WIDTH] = part[i*Y_WIDTH +: Y_WIDTH] + ((a << i) & {Y_WIDTH{B[i]}});
        end
    end endgenerate
    assign Y = part[Y_WIDTH*N +: Y_WIDTH];
endmodule
