"""Backpropagation by hand: the chain rule on a one-hidden-layer network, checked against
feedforward.

The network of the tutorial, without biases, on a batch of n samples:

    Z1 = X W1            X (n, d),  W1 (d, h),  Z1 (n, h)
    H  = relu(Z1)                               H  (n, h)
    Z2 = H W2            W2 (h, k),             Z2 (n, k)
    P  = softmax(Z2)     row by row             P  (n, k)
    J  = -(1/n) sum_i sum_j Y_ij log P_ij       Y  (n, k) one-hot targets

that is J = Cost(Softmax(Dot(Relu(Dot(X, W1)), W2))). We compute dJ/dW2 and dJ/dW1 with
NumPy, one local derivative at a time, then build the same network with feedforward, give it
the same weights, take one step of gradient descent with learning rate 1 (which moves every
weight by exactly -dJ/dW) and compare. Everything is float64; the differences are rounding
errors, around 1e-16. The script exits with an error if any exceeds 1e-10.

Run: python examples/backprop_by_hand.py
"""

from __future__ import annotations

import numpy as np

import feedforward as ff

TOLERANCE = 1e-10
n, d, h, k = 8, 4, 5, 3  # samples, input features, hidden units, classes


def forward(X, W1, W2, Y):
    """Every intermediate of the forward pass, and the loss J."""
    Z1 = X @ W1
    H = np.maximum(Z1, 0.0)
    Z2 = H @ W2
    # subtracting the row maximum leaves softmax unchanged and keeps exp() from overflowing
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    J = -np.sum(Y * np.log(P)) / len(X)
    return Z1, H, Z2, P, J


def backward(X, W2, Y, Z1, H, P):
    """dJ/dW1 and dJ/dW2 by the chain rule, from the loss back to the first layer."""
    n = len(X)
    # Softmax and cross-entropy together: dJ/dZ2 = (P - Y) / n. (With p = softmax(z),
    # dp_j/dz_l = p_j (1[j = l] - p_l); contracted with dJ/dp_j = -y_j / (n p_j) and
    # sum_j y_j = 1, the p's cancel.)
    dJ_dZ2 = (P - Y) / n  # (n, k)
    # Z2 = H W2, so dZ2_il / dW2_jl = H_ij: dJ/dW2 = H^T dJ/dZ2
    dJ_dW2 = H.T @ dJ_dZ2  # (h, k)
    # and dZ2_il / dH_ij = W2_jl: dJ/dH = dJ/dZ2 W2^T
    dJ_dH = dJ_dZ2 @ W2.T  # (n, h)
    # H = relu(Z1) element-wise, relu'(z) = 1 where z > 0, else 0: dJ/dZ1 = dJ/dH * 1[Z1 > 0]
    dJ_dZ1 = dJ_dH * (Z1 > 0)  # (n, h)
    # Z1 = X W1, as for W2: dJ/dW1 = X^T dJ/dZ1
    dJ_dW1 = X.T @ dJ_dZ1  # (d, h)
    return dJ_dW1, dJ_dW2


def library_step(X, W1, W2, Y):
    """The same network in feedforward: the loss and the gradients of one SGD step with
    learning rate 1, read off as the change of the weights (W - W_new = 1 * dJ/dW)."""
    model = ff.Sequential([ff.Dense(h, activation="relu", use_bias=False),
                           ff.Dense(k, activation="softmax", use_bias=False)],
                          input_dim=d, dtype="float64")
    model.compile(optimizer=ff.optimizers.SGD(learning_rate=1.0),
                  loss="categorical_crossentropy")
    model.set_weights([W1, W2])
    J = model.train_on_batch(X, Y)  # the loss before the step
    W1_new, W2_new = model.get_weights()
    return J, W1 - W1_new, W2 - W2_new


def main():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    Y = np.eye(k)[rng.integers(0, k, n)]
    W1 = rng.normal(0, 0.8, (d, h))
    W2 = rng.normal(0, 0.8, (h, k))

    Z1, H, Z2, P, J = forward(X, W1, W2, Y)
    dJ_dW1, dJ_dW2 = backward(X, W2, Y, Z1, H, P)
    J_lib, dW1_lib, dW2_lib = library_step(X, W1, W2, Y)

    print(f"network: X {X.shape} -> Dot W1 {W1.shape} -> Relu -> Dot W2 {W2.shape} "
          "-> Softmax -> cross-entropy")
    print(f"loss J = {J:.12f} (by hand), {J_lib:.12f} (feedforward)")
    print(f"dJ/dW2 by hand:\n{np.array2string(dJ_dW2, precision=6)}")
    print(f"dJ/dW1 by hand:\n{np.array2string(dJ_dW1, precision=6)}")
    differences = {
        "J": abs(J - J_lib),
        "dJ/dW2": np.abs(dJ_dW2 - dW2_lib).max(),
        "dJ/dW1": np.abs(dJ_dW1 - dW1_lib).max(),
    }
    for name, diff in differences.items():
        print(f"max |difference| in {name}: {diff:.3e}")
    worst = max(differences.values())
    if not worst <= TOLERANCE:
        raise SystemExit(f"the chain rule and feedforward disagree by {worst:.3e} "
                         f"(more than {TOLERANCE:g})")
    print(f"the chain rule by hand and feedforward agree (all differences <= {TOLERANCE:g})")


if __name__ == "__main__":
    main()
