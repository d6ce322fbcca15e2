"""to_graph / from_graph: what the graph of a network holds, and what is refused."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

import graphspace
from graphspace.graph import Network, from_graph, to_graph, to_networkx
from graphspace.graph.network import EDGE_KINDS
from graphspace.spec import CNNArchitecture, MLPArchitecture
from graphspace.zoo.architecture import blueprint


def test_an_mlp_4_3_2_has_9_nodes_and_18_edges() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    graph = to_graph(model)
    assert graph.num_nodes == 9 and graph.num_edges == 18
    assert graph.x.shape == (9, 1) and graph.edge_attr.shape == (18, 1)
    assert graph.layer.tolist() == [0] * 4 + [1] * 3 + [2] * 2
    assert graph.position.tolist() == [0, 1, 2, 3, -1, -1, -1, 0, 1]
    assert graph.x[:4].abs().sum() == 0  # inputs have no bias
    assert (graph.edge_kind == EDGE_KINDS.index("linear")).all()
    sources, targets = graph.edge_index
    assert ((graph.layer[targets] - graph.layer[sources]) == 1).all()


def test_output_neurons_keep_their_order_and_values() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2))
    graph = to_graph(model)
    assert torch.equal(graph.x[-2:, 0], model[2].bias.detach())
    first = graph.edge_attr[-6:, 0].reshape(2, 3)  # the last layer's edges, target-major
    assert torch.equal(first.sort(dim=1).values, model[2].weight.detach().sort(dim=1).values)


def test_the_zoo_cnn_has_one_edge_per_kernel_and_per_channel_unit_pair() -> None:
    cnn = blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10)
    graph = to_graph(cnn.build("relu", 0.0), cnn.input_shape)
    # nodes: 1 input channel, 8 + 6 + 4 conv channels, 20 hidden units, 10 outputs
    assert graph.num_nodes == 1 + 8 + 6 + 4 + 20 + 10
    # edges: conv kernels 1x8, 8x6, 6x4; flatten 4 channels x 20 units; linear 20 x 10
    assert graph.num_edges == 8 + 48 + 24 + 80 + 200
    assert graph.grid == (5, 5) and graph.edge_attr.shape == (360, 25)
    kinds = [EDGE_KINDS[k] for k in graph.edge_kind.tolist()]
    assert kinds == ["conv"] * 80 + ["flatten"] * 80 + ["linear"] * 200


def test_small_grids_are_zero_padded_and_centered() -> None:
    cnn = blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10)
    graph = to_graph(cnn.build("gelu", 0.0), cnn.input_shape)
    grids = graph.edge_attr.reshape(-1, 5, 5)

    def outside(block: torch.Tensor, rows: slice, columns: slice) -> torch.Tensor:
        padding = torch.ones(5, 5, dtype=torch.bool)
        padding[rows, columns] = False
        return block[:, padding]

    kernel_2x2 = grids[56:80]  # conv3 (kernel 2): rows and columns 1..2 of the 5x5 grid
    assert (kernel_2x2[:, 1:3, 1:3] != 0).all() and (outside(kernel_2x2, slice(1, 3), slice(1, 3)) == 0).all()
    flatten_3x3 = grids[80:160]  # the 3x3 feature map: rows and columns 1..3
    assert (flatten_3x3[:, 1:4, 1:4] != 0).all() and (outside(flatten_3x3, slice(1, 4), slice(1, 4)) == 0).all()
    scalars = grids[160:]  # linear weights sit in the center
    assert (scalars[:, 2, 2] != 0).all() and (outside(scalars, slice(2, 3), slice(2, 3)) == 0).all()


@pytest.mark.parametrize(
    "architecture",
    [
        MLPArchitecture(kind="mlp", hidden=[16, 8]),
        CNNArchitecture(kind="cnn"),
        CNNArchitecture(kind="cnn", channels=[4, 4], kernel=[3], padding=[1], pool=[2], head="global_avg"),
    ],
)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"])
def test_every_zoo_architecture_round_trips(architecture: MLPArchitecture | CNNArchitecture, activation: str) -> None:
    zoo = blueprint(architecture, (1, 28, 28), 10)
    torch.manual_seed(0)
    model = zoo.build(activation, 0.3).eval()
    rebuilt = from_graph(to_graph(model, zoo.input_shape))
    x = torch.randn(32, 1, 28, 28)
    with torch.no_grad():
        assert (rebuilt(x) - model(x)).abs().max() <= 1e-5
    assert {m.p for m in rebuilt if isinstance(m, nn.Dropout)} == {0.3} and not rebuilt.training


def test_the_network_structure_round_trips_through_json() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=False), nn.AvgPool2d(2), nn.ELU(0.5))
    model.append(nn.Flatten()).append(nn.Linear(4 * 2 * 2, 3))
    network = Network.of(model, (3, 9, 9))
    assert Network.from_json(network.to_json()) == network
    rebuilt = network.build()
    assert rebuilt[0].bias is None and rebuilt[0].kernel_size == (3, 2) and rebuilt[2].alpha == 0.5


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.linear(x)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)), r"Module 1 .*BatchNorm1d.* not supported"),
        (nn.Sequential(nn.Linear(4, 4), _Residual()), r"Module 1 .*_Residual.* not supported"),
        (_Residual(), r"takes an nn.Sequential, got _Residual"),
        (nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)), r"grouped conv"),
        (nn.Sequential(nn.ReLU()), r"no Linear or Conv2d"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 5, 3)), r"not square, so pass input_shape"),
    ],
)
def test_unsupported_models_are_refused_with_what_is_supported(model: nn.Module, message: str) -> None:
    with pytest.raises(graphspace.GraphError, match=message) as error:
        to_graph(model)
    if "not supported" in message:
        assert "supported: Linear, Conv2d" in str(error.value)


def test_a_non_square_map_is_read_from_the_input_shape() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 5, 3)).eval()
    graph = to_graph(model, (1, 8, 7))
    assert graph.grid == (6, 5)
    x = torch.randn(4, 1, 8, 7)
    with torch.no_grad():
        assert (from_graph(graph)(x) - model(x)).abs().max() <= 1e-5


def test_a_graph_whose_features_do_not_fit_its_network_is_refused() -> None:
    graph = to_graph(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    graph.edge_attr = graph.edge_attr[:-1]
    with pytest.raises(graphspace.GraphError, match="its network needs 9 nodes"):
        from_graph(graph)
    with pytest.raises(graphspace.GraphError, match=r"needs a neuron-edge graph .*; got Data"):
        from_graph(Data(x=graph.x, edge_index=graph.edge_index))  # a graph without its network
    whole = to_graph(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    with pytest.raises(graphspace.GraphError, match=r"one graph, not a batch of 2; use .*to_data_list"):
        from_graph(Batch.from_data_list([whole, whole]))


def test_to_networkx_keeps_weights_and_roles() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    graph = to_graph(model)
    digraph = to_networkx(graph)
    assert digraph.number_of_nodes() == 9 and digraph.number_of_edges() == 18
    assert nx.is_directed_acyclic_graph(digraph)
    assert digraph.nodes[7] == {"bias": pytest.approx(model[2].bias[0].item()), "layer": 2, "position": 0}
    assert {digraph.edges[e]["kind"] for e in digraph.edges} == {0}
    same = to_networkx(to_graph(model))
    assert nx.is_isomorphic(digraph, same, edge_match=lambda a, b: a["weight"] == b["weight"])
