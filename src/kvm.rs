//! The KVM engine, which only x86-64 Linux hosts have (KVM runs guests of
//! the host's own architecture). Elsewhere a stand-in that is never
//! available: `--backend kvm` then fails as it does on a Linux host
//! without `/dev/kvm`, and `auto` picks the emulator.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub use qvm_engine_kvm::{probe, KvmEngine};

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub use elsewhere::{probe, KvmEngine};

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod elsewhere {
    use std::sync::Arc;

    use qvm_common::address_space::MemoryChange;
    use qvm_common::engine::{Engine, EngineError, EntryState, Exit, Supervisor, ThreadContext};
    use qvm_common::guest_memory::GuestMemory;

    fn unavailable() -> EngineError {
        EngineError::Unavailable(
            "kvm",
            "KVM needs an x86-64 Linux host with /dev/kvm; use --backend emu".into(),
        )
    }

    /// Why KVM is not there: never `Ok`.
    pub fn probe() -> Result<(), EngineError> {
        Err(unavailable())
    }

    /// No value of this type exists: [`KvmEngine::new`] always fails.
    pub enum KvmEngine {}

    impl KvmEngine {
        pub fn new(_memory: Arc<GuestMemory>) -> Result<Self, EngineError> {
            Err(unavailable())
        }
    }

    impl Engine for KvmEngine {
        fn name(&self) -> &'static str {
            match *self {}
        }

        fn apply(&mut self, _: &[MemoryChange]) -> Result<(), EngineError> {
            match *self {}
        }

        fn reset(&mut self, _: EntryState) -> Result<(), EngineError> {
            match *self {}
        }

        fn set_deadline(&mut self, _: Option<std::time::Instant>) {
            match *self {}
        }

        fn run(&mut self, _: &mut dyn Supervisor) -> Result<Exit, EngineError> {
            match *self {}
        }

        fn context(&self) -> Result<ThreadContext, EngineError> {
            match *self {}
        }

        fn set_context(&mut self, _: &ThreadContext) -> Result<(), EngineError> {
            match *self {}
        }
    }
}
