//! File-system helpers shared by the modules that keep state on disk. This
//! module owns *how* a file is put on disk (atomically, with the requested
//! permissions); it must not decide *what* is stored or *where*: paths,
//! formats and folder permissions stay with the callers (config, identity,
//! single instance).

mod atomic;

pub(crate) use atomic::write_atomic;
