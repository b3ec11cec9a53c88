//! `ferry doctor`: explains why devices do or do not see each other. It
//! gathers this device's settings and the `--peer` addresses, runs the
//! network check ([`crate::diagnose`]) and prints its report: the interfaces
//! discovery uses, the ports, the beacons heard, and a two-way check of every
//! known device, each problem with a plain hint. It only prints; the checks
//! live in `diagnose`. Exit 0 when no problem was found, 1 otherwise.

use clap::Args;

use super::{EXIT_FAILED, EXIT_OK, NetOptions};
use crate::diagnose::{self, Setup};

/// Arguments of `ferry doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also check this device (HOST[:PORT]; repeatable), e.g. one that does
    /// not show up.
    #[arg(long = "peer", value_name = "HOST[:PORT]")]
    pub peers: Vec<String>,
    /// Seconds to listen for beacons.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub wait: f64,
}

/// Runs `ferry doctor`.
pub fn run(args: DoctorArgs, net: &NetOptions) -> anyhow::Result<i32> {
    let (settings, identity, device) = super::send::local_device()?;
    let discovery = crate::config::discovery_config(net, &settings, &[])?;
    let mut extra_peers = Vec::new();
    for target in &args.peers {
        extra_peers.push((crate::config::resolve_address(target)?, target.clone()));
    }
    let setup = Setup {
        identity,
        device,
        tcp_port: settings.port,
        discovery,
        extra_peers,
        wait: super::seconds(args.wait),
    };
    let report = diagnose::run(&setup)?;
    say!("Ferry doctor: {}", report.about);
    let _ = std::io::Write::write_fmt(&mut std::io::stdout(), format_args!("{report}"));
    Ok(if report.problems() == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
