use super::args::{Global, PlanArgs};

pub fn run(_g: &Global, _a: &PlanArgs) -> anyhow::Result<u8> {
    anyhow::bail!("plan: not yet wired")
}
