//! The small dense solve the regression methods need (f64, a few hundred unknowns at most).

/// Solves `a x = b` for every right-hand side (the columns of `b`, given as rows
/// `b[rhs][i]`) by Gaussian elimination with partial pivoting. `None` when a pivot is below
/// `1e-12 ×` the largest diagonal entry: the system does not determine `x`.
#[allow(clippy::needless_range_loop)] // index arithmetic reads as the textbook algorithm
pub(crate) fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let scale = (0..n).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    let floor = 1e-12 * scale.max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= floor {
            return None;
        }
        a.swap(col, pivot);
        for rhs in b.iter_mut() {
            rhs.swap(col, pivot);
        }
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            if factor != 0.0 {
                for k in col..n {
                    a[row][k] -= factor * a[col][k];
                }
                for rhs in b.iter_mut() {
                    rhs[row] -= factor * rhs[col];
                }
            }
        }
    }
    for rhs in b.iter_mut() {
        for col in (0..n).rev() {
            let mut v = rhs[col];
            for k in col + 1..n {
                v -= a[col][k] * rhs[k];
            }
            rhs[col] = v / a[col][col];
        }
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_refuses_singular_systems() {
        let a = vec![vec![0.0, 2.0], vec![3.0, 1.0]];
        let x = solve(a, vec![vec![4.0, 5.0], vec![0.0, 0.0]]).unwrap();
        assert_eq!(x[0], vec![1.0, 2.0]);
        assert_eq!(x[1], vec![0.0, 0.0]);
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![vec![1.0, 1.0]]).is_none());
    }
}
