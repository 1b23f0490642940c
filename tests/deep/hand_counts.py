"""Parameter counts of layers summed by hand, for the zoo's count tests: conv = cin * cout * kernel + cout,
BatchNorm = 2 * channels, dense = in * out + out, a stacked torch RNN = gates * (W_ih, W_hh, b_ih, b_hh) per layer."""

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def conv(cin, cout, *kernel):
    k = 1
    for s in kernel:
        k *= s
    return cin * cout * k + cout


def bn(c):
    return 2 * c


def dense(i, o):
    return i * o + o


def rnn(cell, features, hidden, layers=2):
    g = GATES[cell]
    return sum(g * (hidden * (features if i == 0 else hidden) + hidden * hidden + 2 * hidden) for i in range(layers))
