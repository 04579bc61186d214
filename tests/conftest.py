import json
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from search.index import rebuild
from search.whoosh_fast import writer as writer_module

# Deterministic property tests: the same examples every run, and no deadline, which a
# loaded machine would miss now and then.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
TACHKENT = "004_4f1f39c146262a98.txt"
RABAT = "000_69f7196542c3eaa4.txt"


@pytest.fixture(autouse=True)
def isolated_index(tmp_path, monkeypatch):
    """No test touches the user's index: SEARCH_INDEX points to a temporary one, and so
    does the default folder, for tests that unset it."""
    index_dir = tmp_path / "index"
    monkeypatch.setenv("SEARCH_INDEX", str(index_dir))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return index_dir


@pytest.fixture(autouse=True)
def one_writing_process(monkeypatch):
    """Large writes stay in one process whatever the machine's cores (`sub_writers` turns
    sub-writers on), so that the suite runs alike on one core and on two."""
    monkeypatch.setattr(writer_module, "SUB_WRITERS", False)


@pytest.fixture
def sub_writers(monkeypatch):
    """Writes of 50 articles or more go to sub-writer processes, even on one core."""
    monkeypatch.setattr(writer_module, "SUB_WRITERS", True)
    monkeypatch.setattr(writer_module, "PARALLEL_MIN_ARTICLES", 50)


@pytest.fixture
def block_corpus(tmp_path) -> Path:
    """300 short articles: their common terms have more than one block of postings."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(300):  # Whoosh: 128 postings a block
        (corpus / f"{n:03}.txt").write_text(
            f"Dépêche {n}\n\nLe ministre est arrivé à Lomé{' pour la visite' * (n % 5)} "
            f"numéro {n}, étape {n % 7}.", encoding="utf-8")
    return corpus


@pytest.fixture(scope="session")
def cluster_url():
    """The URL of a one-node OpenSearch cluster for the session (tests/opensearch_nodes),
    or a skip that says why."""
    from .opensearch_nodes import cluster_or_skip
    with cluster_or_skip() as cluster:
        yield cluster["url"]


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Path:
    """An index of the bundled seeds, built once for the read-only tests."""
    index_dir = tmp_path_factory.mktemp("seeds") / "index"
    rebuild([SEEDS], index_dir)
    return index_dir


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seeds, for tests that add files to a corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob("gen-*"))


def without_forms_files(index_dir: Path) -> None:
    """The current generation as written before segments had forms files: none, and none
    in its checksums."""
    from search.store import CHECKSUMS, CURRENT, FORMS_SUFFIX

    generation = index_dir / (index_dir / CURRENT).read_text().strip()
    recorded = json.loads((generation / CHECKSUMS).read_text("utf-8"))
    for file in generation.glob(f"*{FORMS_SUFFIX}"):
        file.unlink()
        del recorded[file.name]
    (generation / CHECKSUMS).write_text(json.dumps(recorded), "utf-8")


def write_export(path: Path, records: list[dict]) -> None:
    """A JSONL export of `records`, one per line."""
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")


def index_content(ix) -> list:
    """Every posting of every term with its block's statistics, and every document's stored
    fields, column values and lengths, segment by segment: what a writer puts in an index, whatever the
    file layout."""
    content = []
    with ix.reader() as top:
        for reader, _ in top.leaf_readers():
            for fieldname, text in reader.all_terms():
                info = reader.term_info(fieldname, text)
                content.append((fieldname, text, info.weight(), info.doc_frequency(),
                                info.min_length(), info.max_length(), info.max_weight()))
                matcher = reader.postings(fieldname, text)
                matcher = getattr(matcher, "child", matcher)  # deleted ones too
                while matcher.is_active():
                    content.append((matcher.id(), matcher.weight(), matcher.value(),
                                    matcher.block_min_length(), matcher.block_max_length(),
                                    matcher.block_max_weight()))
                    matcher.next()
            values = [reader.column_reader(name) for name, field in reader.schema.items()
                      if field.column_type is not None and reader.has_column(name)]
            for docnum in range(reader.doc_count_all()):
                content.append(sorted(reader.stored_fields(docnum).items()))
                content.append([column[docnum] for column in values])
                content.append([reader.doc_field_length(docnum, name)
                                for name in reader.indexed_field_names()])
    return content


def index_of(folder: Path, texts: dict[str, str]) -> Path:
    """An index of articles written as the files `texts` names, in `folder`."""
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    rebuild([folder], folder / "index")
    return folder / "index"
