//! Build script: on Windows, embeds the application icon and the version
//! information (from Cargo.toml) into `ferry.exe`, so Explorer, the taskbar
//! and the file's Properties dialog show them. Everywhere else it does nothing.
//!
//! `winresource` is a build-dependency only when the *build machine* runs
//! Windows (`[target.'cfg(windows)'.build-dependencies]`), so the code that
//! uses it is compiled only there; the target check keeps it off when a
//! Windows machine builds for another platform. See packaging/windows/README.md.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(windows)]
    windows::embed_resources();
}

#[cfg(windows)]
mod windows {
    pub fn embed_resources() {
        println!("cargo:rerun-if-changed=assets/icon.ico");
        if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
            return;
        }
        let mut res = winresource::WindowsResource::new();
        res.set_icon("assets/icon.ico")
            .set("ProductName", "Ferry")
            .set(
                "FileDescription",
                "Ferry - move files across your local network",
            )
            .set("CompanyName", "Ferry developers")
            .set("LegalCopyright", "Ferry developers; MIT OR Apache-2.0")
            .set("OriginalFilename", "ferry.exe")
            .set("InternalName", "ferry");
        if let Err(e) = res.compile() {
            // A build without the icon still works; say why it is missing.
            println!("cargo:warning=could not embed the Windows icon and version info: {e}");
        }
    }
}
