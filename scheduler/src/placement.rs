//! The admission-time decision: does a pod go to Fargate, under which profile, at what size —
//! and if it cannot run there, why.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::cluster::CompiledProfile;
use crate::pod::Pod;
use crate::sizing::{self, SizingError};

/// The label that names (and pins) a pod's Fargate profile.
pub const PROFILE_LABEL: &str = "eks.amazonaws.com/fargate-profile";
/// The scheduler Fargate pods get.
pub const FARGATE_SCHEDULER: &str = "fargate-scheduler";
/// The annotation with the provisioned size.
pub const CAPACITY_ANNOTATION: &str = "CapacityProvisioned";

/// An event, as `kubectl describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `Scheduled`, `FailedScheduling`, …
    pub reason: String,
    /// The message.
    pub message: String,
    /// The component that reported it.
    pub from: &'static str,
}

impl Event {
    /// A normal event from the Fargate scheduler.
    pub fn normal(reason: &str, message: &str) -> Self {
        Self {
            kind: "Normal",
            reason: reason.to_owned(),
            message: message.to_owned(),
            from: FARGATE_SCHEDULER,
        }
    }

    /// A `Warning` event.
    pub fn warning(reason: &str, message: &str) -> Self {
        Self {
            kind: "Warning",
            reason: reason.to_owned(),
            message: message.to_owned(),
            from: FARGATE_SCHEDULER,
        }
    }
}

/// Where a pod went and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The pod as admitted (profile label and scheduler name set when it goes to Fargate).
    #[serde(skip)]
    pub pod: Pod,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The Fargate profile, `None` when the pod is not for Fargate.
    pub profile: Option<String>,
    /// Whether the pod stays Pending.
    pub pending: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// The `CapacityProvisioned` annotation.
    pub capacity_provisioned: Option<String>,
    /// The Fargate node (`fargate-ip-…`).
    pub node: Option<String>,
    /// The pod's address in its subnet (the node is named after it).
    #[serde(skip)]
    pub address: Option<std::net::Ipv4Addr>,
    /// Events, oldest first.
    pub events: Vec<Event>,
}

impl Placement {
    /// Whether the pod runs on a Fargate node.
    pub fn on_fargate(&self) -> bool {
        self.profile.is_some() && !self.pending
    }

    /// Binds the pod to its own Fargate node, named after its address.
    pub fn set_node(&mut self, address: std::net::Ipv4Addr, region: &str) {
        let ip = address.octets();
        self.address = Some(address);
        let node = format!(
            "fargate-ip-{}-{}-{}-{}.{region}.compute.internal",
            ip[0], ip[1], ip[2], ip[3]
        );
        self.pod.spec.node_name = Some(node.clone());
        self.events.push(Event::normal(
            "Scheduled",
            &format!(
                "Successfully assigned {}/{} to {node}",
                self.namespace, self.name
            ),
        ));
        self.node = Some(node);
    }
}

/// What Fargate refuses to run, as EKS words it (`Pod not supported on Fargate: …`).
pub fn unsupported(pod: &Pod) -> Option<String> {
    let spec = &pod.spec;
    let mut reasons = Vec::new();
    let mut fields = Vec::new();
    if spec.host_network {
        fields.push("HostNetwork");
    }
    if spec.host_pid {
        fields.push("HostPID");
    }
    if spec.host_ipc {
        fields.push("HostIPC");
    }
    if !fields.is_empty() {
        reasons.push(format!("fields not supported: {}", fields.join(", ")));
    }
    let all = || spec.containers.iter().chain(&spec.init_containers);
    if all().any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true)) {
        reasons.push("invalid SecurityContext fields: Privileged".to_owned());
    }
    if all().flat_map(|c| &c.ports).any(|p| {
        p.host_port.is_some_and(|h| h > 0) || p.host_ip.as_deref().is_some_and(|h| !h.is_empty())
    }) {
        reasons.push("port contains HostIP or HostPort".to_owned());
    }
    let bad_volumes: Vec<String> = spec
        .volumes
        .iter()
        .filter(|v| v.host_path.is_some())
        .map(|v| format!("{} is of an unsupported volume Type", v.name))
        .collect();
    if !bad_volumes.is_empty() {
        reasons.push(format!("volumes not supported: {}", bad_volumes.join(", ")));
    }
    if pod.owner_kind.as_deref() == Some("DaemonSet") {
        reasons.push("DaemonSet pods are not supported".to_owned());
    }
    (!reasons.is_empty()).then(|| format!("Pod not supported on Fargate: {}", reasons.join(", ")))
}

/// The placement decision alone: which profile and selector, or why none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The pod goes to profile `profile` (index in name order), through selector `selector`.
    Profile {
        /// Index of the profile.
        profile: usize,
        /// Index of the selector that matched.
        selector: usize,
    },
    /// Pinned by label to a profile that exists but does not select the pod.
    PinnedNoMatch,
    /// Pinned by label to a profile that is not ACTIVE.
    PinnedMissing,
    /// No ACTIVE profile selects the pod.
    NoMatch,
}

/// Decides placements against one set of ACTIVE profiles. Which selectors a namespace matches
/// is worked out once per namespace and cached, so that a batch of pods costs a hash lookup
/// and a few label checks per pod.
#[derive(Debug)]
pub struct Placer<'a> {
    profiles: Vec<&'a CompiledProfile>,
    by_namespace: HashMap<String, Vec<(u32, u32)>, BuildHasherDefault<Fnv>>,
}

/// FNV-1a: namespaces are short and come from the user's own manifests, so a fast
/// non-cryptographic hash is the right trade here (SipHash was a fifth of the placement time).
#[derive(Debug, Default, Clone, Copy)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl<'a> Placer<'a> {
    /// A placer over profiles given in name order.
    pub fn new(profiles: impl IntoIterator<Item = &'a CompiledProfile>) -> Self {
        Self {
            profiles: profiles.into_iter().collect(),
            by_namespace: HashMap::default(),
        }
    }

    /// The decision for one pod.
    pub fn choose(&mut self, pod: &Pod) -> Choice {
        let profiles = &self.profiles;
        let candidates: &Vec<(u32, u32)> = match self.by_namespace.get(pod.namespace.as_str()) {
            Some(c) => c,
            None => {
                let list: Vec<(u32, u32)> = profiles
                    .iter()
                    .enumerate()
                    .flat_map(|(pi, p)| {
                        p.selectors
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| s.namespace.is_match(&pod.namespace))
                            .map(move |(si, _)| (pi as u32, si as u32))
                    })
                    .collect();
                self.by_namespace
                    .entry(pod.namespace.clone())
                    .or_insert(list)
            }
        };
        let pinned = pod.labels.get(PROFILE_LABEL);
        for &(pi, si) in candidates {
            let Some(p) = profiles.get(pi as usize) else {
                continue;
            };
            if pinned.is_some_and(|pin| *pin != p.name) {
                continue;
            }
            if p.selectors
                .get(si as usize)
                .is_some_and(|s| s.labels_match(&pod.labels))
            {
                return Choice::Profile {
                    profile: pi as usize,
                    selector: si as usize,
                };
            }
        }
        match pinned {
            Some(pin) if profiles.iter().any(|p| p.name == *pin) => Choice::PinnedNoMatch,
            Some(_) => Choice::PinnedMissing,
            None => Choice::NoMatch,
        }
    }

    /// The decision, made into the admitted pod with its reason, size and events.
    pub fn place(&mut self, pod: &Pod) -> Placement {
        let choice = self.choose(pod);
        let chosen = match choice {
            Choice::Profile { profile, selector } => {
                self.profiles.get(profile).map(|p| (*p, selector))
            }
            _ => None,
        };
        admit(pod, choice, chosen)
    }
}

/// Decides a pod's placement among ACTIVE profiles (given in name order).
pub fn place<'a>(
    pod: &Pod,
    active: impl Iterator<Item = &'a CompiledProfile>,
    _region: &str,
) -> Placement {
    Placer::new(active).place(pod)
}

fn admit(pod: &Pod, choice: Choice, chosen: Option<(&CompiledProfile, usize)>) -> Placement {
    let mut out = Placement {
        pod: pod.clone(),
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
        profile: None,
        pending: false,
        reason: String::new(),
        capacity_provisioned: None,
        node: None,
        address: None,
        events: Vec::new(),
    };
    let pinned = pod.labels.get(PROFILE_LABEL);
    let pinned_seen = choice == Choice::PinnedNoMatch;
    let Some((profile, selector)) = chosen else {
        let asked_fargate = pod.spec.scheduler_name.as_deref() == Some(FARGATE_SCHEDULER);
        out.reason = match pinned {
            Some(pin) if pinned_seen => format!(
                "pinned to profile `{pin}` by the {PROFILE_LABEL} label, but it does not select this pod; left to the default scheduler"
            ),
            Some(pin) => format!(
                "pinned to profile `{pin}` by the {PROFILE_LABEL} label, but no ACTIVE profile has that name; left to the default scheduler"
            ),
            None => format!(
                "no ACTIVE Fargate profile selects namespace `{}` with these labels; left to the default scheduler",
                pod.namespace
            ),
        };
        if asked_fargate {
            out.pending = true;
            out.reason = format!(
                "schedulerName is {FARGATE_SCHEDULER} but no Fargate profile matches the pod; it stays Pending"
            );
            out.events
                .push(Event::warning("FailedScheduling", &out.reason));
        } else {
            out.events.push(Event {
                from: "fargate-admission",
                ..Event::normal("NotFargate", &out.reason)
            });
        }
        return out;
    };
    let name = profile.name.clone();
    out.profile = Some(name.clone());
    out.pod
        .labels
        .insert(PROFILE_LABEL.to_owned(), name.clone());
    out.pod.spec.scheduler_name = Some(FARGATE_SCHEDULER.to_owned());
    let how = if pinned.is_some() {
        "pinned by label, "
    } else {
        ""
    };
    if let Some(msg) = unsupported(pod) {
        out.pending = true;
        out.reason = msg.clone();
        out.events.push(Event::warning("FailedScheduling", &msg));
        return out;
    }
    match sizing::size(&pod.spec) {
        Ok(cap) => {
            let a = cap.annotation();
            out.pod
                .annotations
                .insert(CAPACITY_ANNOTATION.to_owned(), a.clone());
            out.capacity_provisioned = Some(a);
            out.reason = format!("matched profile `{name}` ({how}selector {selector})");
        }
        Err(SizingError::TooLarge) => {
            out.pending = true;
            out.reason = "POD_CPU_MEM_EXCEEDS_MAX_FARGATE_SIZE: Your pod's cpu/memory requirements exceed the max Fargate configuration".to_owned();
            out.events
                .push(Event::warning("FailedScheduling", &out.reason));
        }
        Err(SizingError::BadQuantity { container, value }) => {
            out.pending = true;
            out.reason = format!(
                "container `{container}` requests `{value}`, which is not a valid quantity"
            );
            out.events
                .push(Event::warning("FailedScheduling", &out.reason));
        }
    }
    out
}
