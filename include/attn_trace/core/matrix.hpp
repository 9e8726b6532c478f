// Eigen aliases, declared once. Matrices are row-major, like the JSON input and the printout:
// one row per token.
#pragma once

#include <Eigen/Dense>

namespace attn_trace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;  // a bias: one value per output feature
using Index = Eigen::Index;

}  // namespace attn_trace
