//! The request queue as the CLI reads it: the files' texts from the working
//! tree, the commits that added them, the ledger from the state.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::RequestFile;
use crate::requests::{queue, Due, Standing};
use crate::state::{ClusterState, RequestRecord};

/// Every request record of the recorded clusters, by id.
pub fn ledger(recorded: &BTreeMap<String, ClusterState>) -> BTreeMap<String, RequestRecord> {
    recorded
        .values()
        .flat_map(|s| s.requests.iter().map(|(id, r)| (id.clone(), r.clone())))
        .collect()
}

/// The request files of the repository at `dir`, with their standing.
pub fn standings<'a>(
    dir: &Path,
    files: &'a [RequestFile],
    ledger: &'a BTreeMap<String, RequestRecord>,
) -> Vec<Standing<'a>> {
    let texts: BTreeMap<String, String> = files
        .iter()
        .filter_map(|f| Some((f.path.clone(), std::fs::read_to_string(dir.join(&f.path)).ok()?)))
        .collect();
    queue(files, &texts, &crate::source::request_origins(dir), ledger)
}

/// The requests still to run (or resume), in order.
pub fn due<'a>(standings: &[Standing<'a>]) -> Vec<Due<'a>> {
    standings
        .iter()
        .filter_map(|s| match s {
            Standing::Due(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}
