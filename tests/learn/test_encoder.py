"""The weight encoder's readouts: per-layer statistics (what they are, and that they ignore the order of neurons),
node states pooled over all nodes and over the outputs, and the output biases class by class."""

from __future__ import annotations

import torch

from graphspace.graph.network import EDGE_KINDS
from graphspace.learn.batch import GraphBatch
from graphspace.learn.encoder import WeightEncoder, layer_statistics, output_profile, pool_nodes


def two_layer_batch(hidden_order: list[int]) -> GraphBatch:
    """One 2-2-1 MLP (nodes: inputs 0, 1; hidden 2, 3; output 4), its hidden neurons listed in `hidden_order`."""
    incoming = {2: [1.0, 0.0], 3: [-2.0, 3.0]}  # weights from inputs 0 and 1 into each hidden neuron
    outgoing = {2: 0.5, 3: 0.0}  # hidden -> output
    bias = {2: 0.1, 3: -0.1}
    edges = []  # (source, target, weight)
    for slot, neuron in zip((2, 3), hidden_order, strict=True):
        edges += [(0, slot, incoming[neuron][0]), (1, slot, incoming[neuron][1]), (slot, 4, outgoing[neuron])]
    sources, targets, weights = zip(*edges, strict=True)
    forward = torch.tensor([sources, targets])
    return GraphBatch(
        bias=torch.tensor([0.0, 0.0, bias[hidden_order[0]], bias[hidden_order[1]], 0.3]),
        layer=torch.tensor([0, 0, 1, 1, 2]),
        index=torch.tensor([0, 1, 0, 1, 0]),
        role=torch.tensor([0, 0, 1, 1, 2]),
        edge_index=torch.cat([forward, forward.flip(0)], dim=1),  # reverse edges carry the same weights
        edge_attr=torch.tensor(list(weights) * 2)[:, None],
        edge_type=torch.tensor([0] * 6 + [len(EDGE_KINDS)] * 6),
        batch=torch.zeros(5, dtype=torch.long),
        num_graphs=1,
    )


def test_layer_statistics_describe_each_layers_incoming_weights_and_biases() -> None:
    statistics, graph, layer = layer_statistics(two_layer_batch([2, 3]))
    assert graph.tolist() == [0, 0] and layer.tolist() == [1, 2]
    # hidden layer: weights 1, 0, -2, 3; biases 0.1, -0.1.  output layer: weights 0.5, 0; bias 0.3
    expected = torch.tensor(
        [
            [0.5, 3.25**0.5, 1.5, 3.0, 0.25, 0.0, 0.1],
            [0.25, 0.25, 0.25, 0.5, 0.5, 0.3, 0.0],
        ]
    )
    torch.testing.assert_close(statistics, expected)


def test_layer_statistics_do_not_depend_on_the_order_of_neurons() -> None:
    torch.testing.assert_close(
        layer_statistics(two_layer_batch([2, 3]))[0], layer_statistics(two_layer_batch([3, 2]))[0]
    )


def test_node_states_are_averaged_over_all_nodes_and_over_the_outputs_alone() -> None:
    graphs = two_layer_batch([2, 3])  # nodes 0..4: inputs 0, 1; hidden 2, 3; output 4
    states = torch.tensor([[1.0], [3.0], [10.0], [20.0], [-7.0]])
    torch.testing.assert_close(pool_nodes(states, graphs), torch.tensor([[27.0 / 5, -7.0]]))


def output_layer_batch(output_biases: list[list[float]]) -> GraphBatch:
    """Graphs of one input feeding outputs with these biases (one list per graph; the lists may differ in length)."""
    bias, layer, index, role, batch, edges, first = [], [], [], [], [], [], 0
    for g, outputs in enumerate(output_biases):
        bias += [0.0, *outputs]
        layer += [0] + [1] * len(outputs)
        index += [0, *range(len(outputs))]
        role += [0] + [2] * len(outputs)
        batch += [g] * (1 + len(outputs))
        edges += [(first, first + 1 + o) for o in range(len(outputs))]
        first += 1 + len(outputs)
    forward = torch.tensor(edges).T
    return GraphBatch(
        bias=torch.tensor(bias),
        layer=torch.tensor(layer),
        index=torch.tensor(index),
        role=torch.tensor(role),
        edge_index=torch.cat([forward, forward.flip(0)], dim=1),
        edge_attr=torch.ones(2 * len(edges), 1),
        edge_type=torch.tensor([0] * len(edges) + [len(EDGE_KINDS)] * len(edges)),
        batch=torch.tensor(batch),
        num_graphs=len(output_biases),
    )


def test_the_output_profile_holds_each_graphs_centred_output_biases_at_their_classes() -> None:
    profile, present = output_profile(output_layer_batch([[1.0, 2.0, 6.0], [4.0, 0.0]]), classes=4)
    torch.testing.assert_close(profile[..., 0], torch.tensor([[-2.0, -1.0, 3.0, 0.0], [2.0, -2.0, 0.0, 0.0]]))
    torch.testing.assert_close(present, torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]))


def test_the_output_profile_ignores_a_shift_of_all_output_biases_and_outputs_past_the_class_slots() -> None:
    profile, present = output_profile(output_layer_batch([[1.0, 2.0, 6.0]]), classes=2)
    shifted, _ = output_profile(output_layer_batch([[11.0, 12.0, 16.0]]), classes=2)
    torch.testing.assert_close(profile, shifted)
    assert profile.shape == (1, 2, 1) and present.tolist() == [[1.0, 1.0]]


def test_class_slots_end_the_embedding_and_read_every_class_with_one_function() -> None:
    torch.manual_seed(0)
    encoder = WeightEncoder(grid=1, hidden=8, layers=1, latent=6, classes=2)
    z = encoder(output_layer_batch([[0.0, 5.0], [5.0, 0.0]]))
    assert z.shape == (2, 6)
    torch.testing.assert_close(z[0, 4:], z[1, 4:].flip(0))  # the favored class moved, and its value with it
