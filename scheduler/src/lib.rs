//! The Fargate side of an EKS cluster: the Fargate-profile API with EKS's constraints, errors
//! and state machine, and the admission-time decision that puts a pod on Fargate (or not).
//!
//! ```
//! use scheduler::{Cluster, CreateProfile, InMemoryRoles, Pod, SeqIds, Selector};
//!
//! let mut cluster = Cluster::new("demo", "eu-west-1", "111122223333", vec![], Box::new(SeqIds::new(1)));
//! let role = "arn:aws:iam::111122223333:role/pod-exec";
//! let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!   "Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
//! let roles = InMemoryRoles([(role.to_owned(), trust.to_owned())].into());
//! let req = CreateProfile {
//!     fargate_profile_name: "test".into(),
//!     pod_execution_role_arn: role.into(),
//!     selectors: vec![Selector { namespace: Some("test".into()), ..Selector::default() }],
//!     ..CreateProfile::default()
//! };
//! cluster.create_profile(&req, &roles, 0.0).unwrap();
//! let placed = cluster.apply_pod(Pod::new("test", "web", &[]), 1.0); // after CREATING → ACTIVE
//! assert_eq!(placed.profile.as_deref(), Some("test"));
//! assert_eq!(placed.capacity_provisioned.as_deref(), Some("0.25vCPU 0.5GB"));
//! ```
//!
//! Nothing here does IO or prints; time (`now`, seconds) and ids ([`Ids`]) are injected, and
//! execution roles come through [`RoleSource`].

pub mod addresses;
pub mod cluster;
pub mod control_plane;
pub mod eksctl;
pub mod kube;
pub mod placement;
pub mod pod;
pub mod quantity;
pub mod sizing;

pub use cluster::{
    Cluster, CreateProfile, Delays, EksError, ErrorType, FargateProfile, Ids, InMemoryRoles,
    RoleSource, Selector, SeqIds, Status, Subnet,
};
pub use control_plane::{ApiServer, ClusterInfo, ClusterStatus, ControlPlane, CreateCluster};
pub use placement::{Placement, place};
pub use pod::{Pod, parse_manifests};
