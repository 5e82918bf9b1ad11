//! Poison detectors over a model's internal activations (Track B's defence). Both look inside
//! each class (by its training label) for a minority that the model represents differently:
//!
//! - **spectral signatures** (Tran, Li, Madry 2018): centre the class's activations, find their
//!   top singular vector, and score each image by its squared projection on it;
//! - **activation clustering** (Chen et al. 2018): project the class's activations on their top
//!   principal components, split them into two clusters with 2-means, and score each image by how
//!   much nearer it lies to the smaller cluster, weighted by how cleanly the class splits.
//!
//! Scores are scaled per class so that one threshold suits every class: a spectral score is the
//! image's squared projection over the class's median one; a clustering score is in [−1, 1].
//! Plain f64 arithmetic over at most a few hundred 32-value rows per class: candle would add
//! nothing but overhead here, and the fixed iteration counts keep the scores deterministic.

use serde::{Deserialize, Serialize};

/// Which detector scores the training images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    #[default]
    SpectralSignatures,
    ActivationClustering,
    CentroidDistance,
}

impl Detector {
    /// Every detector, in the order the page offers them.
    pub const ALL: [Detector; 3] = [
        Detector::SpectralSignatures,
        Detector::ActivationClustering,
        Detector::CentroidDistance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Detector::SpectralSignatures => "spectral signatures",
            Detector::ActivationClustering => "activation clustering",
            Detector::CentroidDistance => "distance to the class centre",
        }
    }

    /// One score per row of `activations` (higher: more likely a poison), each row scored
    /// within the rows that share its label.
    pub fn scores(self, activations: &[Vec<f32>], labels: &[u8]) -> Vec<f32> {
        let mut scores = vec![0f32; activations.len()];
        let classes: std::collections::BTreeSet<u8> = labels.iter().copied().collect();
        for class in classes {
            let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
            let rows: Vec<Vec<f64>> = members
                .iter()
                .map(|&i| activations[i].iter().map(|&v| f64::from(v)).collect())
                .collect();
            let class_scores = match self {
                Detector::SpectralSignatures => spectral(&rows),
                Detector::ActivationClustering => clustering(&rows),
                Detector::CentroidDistance => centroid_distance(&rows),
            };
            for (&i, s) in members.iter().zip(class_scores) {
                scores[i] = s as f32;
            }
        }
        scores
    }
}

/// Rows minus their mean.
fn centred(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = rows.len().max(1) as f64;
    let dim = rows.first().map_or(0, Vec::len);
    let mean: Vec<f64> = (0..dim)
        .map(|d| rows.iter().map(|r| r[d]).sum::<f64>() / n)
        .collect();
    rows.iter()
        .map(|r| r.iter().zip(&mean).map(|(v, m)| v - m).collect())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The top `k` principal directions of centred `rows` (power iteration on the covariance with
/// deflation; a fixed start and iteration count, so the same rows give the same directions).
fn principal_directions(rows: &[Vec<f64>], k: usize) -> Vec<Vec<f64>> {
    let dim = rows.first().map_or(0, Vec::len);
    let mut cov = vec![vec![0f64; dim]; dim];
    for r in rows {
        for a in 0..dim {
            for b in 0..dim {
                cov[a][b] += r[a] * r[b];
            }
        }
    }
    let mut directions: Vec<Vec<f64>> = vec![];
    for _ in 0..k.min(dim) {
        // Start from a fixed vector that is not orthogonal to anything in particular.
        let mut v: Vec<f64> = (0..dim).map(|d| 1.0 + d as f64 / dim as f64).collect();
        for _ in 0..200 {
            let mut next: Vec<f64> = cov.iter().map(|row| dot(row, &v)).collect();
            for u in &directions {
                let p = dot(&next, u);
                next.iter_mut().zip(u).for_each(|(x, y)| *x -= p * y);
            }
            let norm = dot(&next, &next).sqrt();
            if norm < 1e-12 {
                break;
            }
            v = next.into_iter().map(|x| x / norm).collect();
        }
        directions.push(v);
    }
    directions
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Squared projections on the top singular vector, over their class median.
fn spectral(rows: &[Vec<f64>]) -> Vec<f64> {
    let centred = centred(rows);
    let Some(top) = principal_directions(&centred, 1).pop() else {
        return vec![0.0; rows.len()];
    };
    let raw: Vec<f64> = centred.iter().map(|r| dot(r, &top).powi(2)).collect();
    let scale = median(&raw).max(1e-12);
    raw.into_iter().map(|s| s / scale).collect()
}

/// Each row's distance from the class's coordinate-wise median, over the median such distance.
fn centroid_distance(rows: &[Vec<f64>]) -> Vec<f64> {
    let dim = rows.first().map_or(0, Vec::len);
    let centre: Vec<f64> = (0..dim)
        .map(|d| median(&rows.iter().map(|r| r[d]).collect::<Vec<_>>()))
        .collect();
    let raw: Vec<f64> = rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&centre)
                .map(|(v, c)| (v - c).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let scale = median(&raw).max(1e-12);
    raw.into_iter().map(|s| s / scale).collect()
}

/// The dimensions activation clustering reduces to before 2-means.
const CLUSTER_DIMENSIONS: usize = 10;

/// How much nearer each row lies to the smaller of two clusters than to the larger one (in
/// [−1, 1]), times the split's mean silhouette (near 0 when the class does not split).
fn clustering(rows: &[Vec<f64>]) -> Vec<f64> {
    if rows.len() < 3 {
        return vec![0.0; rows.len()];
    }
    let centred = centred(rows);
    let directions = principal_directions(&centred, CLUSTER_DIMENSIONS);
    let points: Vec<Vec<f64>> = centred
        .iter()
        .map(|r| directions.iter().map(|d| dot(r, d)).collect())
        .collect();
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    // Deterministic start: the point farthest from the mean, and the point farthest from it.
    let origin = vec![0f64; points[0].len()];
    let far = |from: &[f64]| {
        (0..points.len())
            .max_by(|&a, &b| distance(&points[a], from).total_cmp(&distance(&points[b], from)))
            .unwrap_or(0)
    };
    let first = far(&origin);
    let mut centres = [points[first].clone(), points[far(&points[first])].clone()];
    let mut assigned = vec![0usize; points.len()];
    for _ in 0..50 {
        let next: Vec<usize> = points
            .iter()
            .map(|p| usize::from(distance(p, &centres[1]) < distance(p, &centres[0])))
            .collect();
        let settled = next == assigned;
        assigned = next;
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&Vec<f64>> = points
                .iter()
                .zip(&assigned)
                .filter(|(_, &a)| a == c)
                .map(|(p, _)| p)
                .collect();
            if !members.is_empty() {
                *centre = (0..centre.len())
                    .map(|d| members.iter().map(|p| p[d]).sum::<f64>() / members.len() as f64)
                    .collect();
            }
        }
        if settled {
            break;
        }
    }
    let size = |c: usize| assigned.iter().filter(|&&a| a == c).count();
    let small = usize::from(size(1) < size(0));
    // The split's quality: the mean silhouette, with each point's distances to the two centres
    // standing in for its mean distances to the two clusters.
    let silhouette: f64 = points
        .iter()
        .zip(&assigned)
        .map(|(p, &a)| {
            let (own, other) = (distance(p, &centres[a]), distance(p, &centres[1 - a]));
            (other - own) / own.max(other).max(1e-12)
        })
        .sum::<f64>()
        / points.len() as f64;
    points
        .iter()
        .map(|p| {
            let (to_small, to_big) = (
                distance(p, &centres[small]),
                distance(p, &centres[1 - small]),
            );
            silhouette.max(0.0) * (to_big - to_small) / (to_big + to_small).max(1e-12)
        })
        .collect()
}

/// Points of a detector's ROC curve over `scores` (false-positive rate, true-positive rate),
/// from the strictest threshold to the loosest, and the area under it. `poisoned[i]` is the truth.
pub fn roc(scores: &[f32], poisoned: &[bool]) -> (Vec<(f32, f32)>, f32) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = poisoned.iter().filter(|&&p| p).count().max(1) as f32;
    let negatives = poisoned.iter().filter(|&&p| !p).count().max(1) as f32;
    let (mut tp, mut fp) = (0f32, 0f32);
    let mut points = vec![(0.0, 0.0)];
    for (n, &i) in order.iter().enumerate() {
        if poisoned[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        // One point per distinct score (ties move together).
        if order.get(n + 1).is_none_or(|&j| scores[j] != scores[i]) {
            points.push((fp / negatives, tp / positives));
        }
    }
    // Trapezoids, so that tied scores count as a diagonal step (a coin toss among them).
    let area = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum();
    (points, area)
}

/// The largest true-positive rate an ROC curve from [`roc`] reaches while its false-positive
/// rate stays at or below `fpr` (Carlini et al.'s "TPR at 1% FPR" with `fpr` = 0.01).
pub fn tpr_at_fpr(points: &[(f32, f32)], fpr: f32) -> f32 {
    points
        .iter()
        .filter(|(f, _)| *f <= fpr)
        .map(|&(_, t)| t)
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A hand-built case with a known answer: class 0 holds 60 clean rows around one point and
    /// 12 poisons around another (as a backdoor's relabelled images sit apart inside their false
    /// class); class 1 holds 80 clean rows only. Both detectors must put the 12 poisons first.
    fn planted() -> (Vec<Vec<f32>>, Vec<u8>, Vec<bool>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut noisy = |centre: &[f32]| -> Vec<f32> {
            centre
                .iter()
                .map(|c| (c + rng.random_range(-0.3f32..0.3)).max(0.0))
                .collect()
        };
        let (mut rows, mut labels, mut poisoned) = (vec![], vec![], vec![]);
        let mut centre = vec![0f32; 32];
        centre[0] = 2.0;
        centre[1] = 1.0;
        let mut poison = vec![0f32; 32];
        poison[5] = 2.5;
        poison[6] = 1.5;
        let mut other = vec![0f32; 32];
        other[10] = 2.0;
        for n in 0..72 {
            let bad = n % 6 == 5;
            rows.push(noisy(if bad { &poison } else { &centre }));
            labels.push(0);
            poisoned.push(bad);
        }
        for _ in 0..80 {
            rows.push(noisy(&other));
            labels.push(1);
            poisoned.push(false);
        }
        (rows, labels, poisoned)
    }

    fn top(scores: &[f32], k: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        order.truncate(k);
        order.sort();
        order
    }

    #[test]
    fn both_detectors_find_a_planted_minority() {
        let (rows, labels, poisoned) = planted();
        let truth: Vec<usize> = (0..rows.len()).filter(|&i| poisoned[i]).collect();
        for detector in [Detector::SpectralSignatures, Detector::ActivationClustering] {
            let scores = detector.scores(&rows, &labels);
            assert_eq!(top(&scores, 12), truth, "{detector:?}");
            let (points, auc) = roc(&scores, &poisoned);
            assert_eq!(auc, 1.0, "{detector:?}");
            assert_eq!(points.first(), Some(&(0.0, 0.0)));
            assert_eq!(points.last(), Some(&(1.0, 1.0)));
        }
    }

    #[test]
    fn a_clean_class_scores_low_under_clustering() {
        let (rows, labels, _) = planted();
        let scores = Detector::ActivationClustering.scores(&rows, &labels);
        let (class0, class1): (Vec<f32>, Vec<f32>) = (scores[..72].to_vec(), scores[72..].to_vec());
        let max = |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max);
        assert!(
            max(&class1) < 0.5 * max(&class0),
            "{} vs {}",
            max(&class1),
            max(&class0)
        );
    }

    #[test]
    fn the_roc_of_a_useless_score_is_the_diagonal() {
        let scores = vec![1.0; 10];
        let poisoned: Vec<bool> = (0..10).map(|i| i % 2 == 0).collect();
        let (points, auc) = roc(&scores, &poisoned);
        assert_eq!(points, vec![(0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(auc, 0.5);
        let reversed: Vec<f32> = (0..10)
            .map(|i| if i % 2 == 0 { 0.0 } else { 1.0 })
            .collect();
        assert_eq!(roc(&reversed, &poisoned).1, 0.0);
    }

    /// A hand-built membership case: members score 0.9, 0.8, 0.4, 0.3 and non-members 0.7, 0.2,
    /// 0.1, 0.05. 14 of the 16 member/non-member pairs are ordered right (AUC 0.875); with no
    /// false positive, the two top members are found (TPR 0.5); allowing one in four, all of them.
    #[test]
    fn tpr_at_a_false_positive_rate_on_a_known_case() {
        let scores = [0.9, 0.8, 0.4, 0.3, 0.7, 0.2, 0.1, 0.05];
        let members = [true, true, true, true, false, false, false, false];
        let (points, auc) = roc(&scores, &members);
        assert_eq!(auc, 0.875);
        assert_eq!(tpr_at_fpr(&points, 0.0), 0.5);
        assert_eq!(tpr_at_fpr(&points, 0.01), 0.5);
        assert_eq!(tpr_at_fpr(&points, 0.25), 1.0);
        assert_eq!(tpr_at_fpr(&points, 1.0), 1.0);
    }
}
