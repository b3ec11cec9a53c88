//! Ferry's rules for the disk, shared by every way files arrive (Ferry's own
//! transfers, the browser share, and later LocalSend): names from the wire
//! made safe inside the download folder ([`names`]), the open folder that
//! creates partial files exclusively and renames them without ever replacing
//! anything ([`folder`]). It never talks to the network and never decides
//! whether a transfer is allowed.

pub mod folder;
pub mod names;
