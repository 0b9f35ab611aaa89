//! Request files written for the user (`dbfleet request new`): a draft from
//! the command line, its text and file name, and the check that the
//! repository with it added still validates. Pure: the command reads the
//! repository and writes the file.

mod draft;

pub use draft::{check, Draft, DraftError};
