//! Data pools the platform's way: a Python service's `DataPool` parameter `NAME` reads the
//! folder `$DATAPOOL_DIRECTORY/NAME`; wfop makes that folder private per service, of links.

use std::path::{Path, PathBuf};

use crate::diag::is_identifier;

/// The variable the platform's runtime reads data pools from.
pub const DATAPOOL_DIRECTORY: &str = "DATAPOOL_DIRECTORY";
/// The folder inside a service's private folder that `DATAPOOL_DIRECTORY` names.
pub const FOLDER: &str = "datapool";

/// A data pool of a run: the parameter name it is mounted as, and its folder (absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub dir: PathBuf,
}

/// Why a data pool cannot be mounted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error(
        "`--datapool {0}`: write NAME=DIR (NAME: the service's `DataPool` parameter, DIR: a folder)"
    )]
    Syntax(String),
    #[error(
        "data pool `{0}`: the name must be a Python parameter name (letters, digits and `_`, not starting with a digit)"
    )]
    Name(String),
    #[error("data pool `{name}`: {} is not a folder", dir.display())]
    NotAFolder { name: String, dir: PathBuf },
}

/// `NAME=DIR` from `--datapool`; DIR relative to the current folder, made absolute, and it
/// must be a folder.
pub fn parse_arg(arg: &str) -> Result<Pool, PoolError> {
    let Some((name, dir)) = arg.split_once('=') else {
        return Err(PoolError::Syntax(arg.to_string()));
    };
    if dir.is_empty() {
        return Err(PoolError::Syntax(arg.to_string()));
    }
    pool(name, Path::new(dir))
}

/// A pool named `name` at `dir` (made absolute), checked: a parameter name and a folder.
pub fn pool(name: &str, dir: &Path) -> Result<Pool, PoolError> {
    if !is_identifier(name) {
        return Err(PoolError::Name(name.to_string()));
    }
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !dir.is_dir() {
        return Err(PoolError::NotAFolder {
            name: name.to_string(),
            dir,
        });
    }
    Ok(Pool {
        name: name.to_string(),
        dir,
    })
}

/// The workflow's pools with the command line's on top (a `--datapool` replaces the workflow's
/// pool of the same name), in name order.
pub fn merged(workflow: Vec<Pool>, command_line: &[Pool]) -> Vec<Pool> {
    let mut all: std::collections::BTreeMap<String, PathBuf> =
        workflow.into_iter().map(|p| (p.name, p.dir)).collect();
    for p in command_line {
        all.insert(p.name.clone(), p.dir.clone());
    }
    all.into_iter()
        .map(|(name, dir)| Pool { name, dir })
        .collect()
}

/// The pools in a folder laid out as the platform's mount point (`$DATAPOOL_DIRECTORY` in
/// wfop's environment): each subfolder whose name is a parameter name, in name order.
pub fn pools_in(dir: &Path) -> Vec<Pool> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut pools: Vec<Pool> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let path = dir.join(&name);
            (is_identifier(&name) && path.is_dir()).then_some(Pool { name, dir: path })
        })
        .collect();
    pools.sort_by(|a, b| a.name.cmp(&b.name));
    pools
}

/// Makes `<folder>/datapool` (0700) with one link `NAME -> DIR` per pool; returns its path, for
/// `DATAPOOL_DIRECTORY`. Made for every Python service, also without pools, so none reads the
/// host's `/var/runtime/datapool`.
pub fn mount(folder: &Path, pools: &[Pool]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let at = folder.join(FOLDER);
    std::fs::DirBuilder::new().mode(0o700).create(&at)?;
    for p in pools {
        std::os::unix::fs::symlink(&p.dir, at.join(&p.name))?;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_argument_is_a_name_and_an_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let arg = format!("images={}", dir.path().display());
        let p = parse_arg(&arg).unwrap();
        assert_eq!(p.name, "images");
        assert_eq!(p.dir, dir.path());
        assert_eq!(
            parse_arg("images").unwrap_err(),
            PoolError::Syntax("images".into())
        );
        assert_eq!(
            parse_arg("images=").unwrap_err(),
            PoolError::Syntax("images=".into())
        );
        let bad = format!("my-pool={}", dir.path().display());
        assert_eq!(
            parse_arg(&bad).unwrap_err(),
            PoolError::Name("my-pool".into())
        );
        let missing = dir.path().join("nope");
        let e = parse_arg(&format!("images={}", missing.display())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("data pool `images`: {} is not a folder", missing.display())
        );
        // A file is not a folder either.
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            parse_arg(&format!("images={}", file.display())),
            Err(PoolError::NotAFolder { .. })
        ));
    }

    #[test]
    fn the_command_line_replaces_a_workflow_pool_of_the_same_name() {
        let p = |n: &str, d: &str| Pool {
            name: n.into(),
            dir: PathBuf::from(d),
        };
        let all = merged(vec![p("b", "/wf/b"), p("a", "/wf/a")], &[p("b", "/cli/b")]);
        assert_eq!(all, vec![p("a", "/wf/a"), p("b", "/cli/b")]);
    }

    #[test]
    fn a_mount_point_folder_lists_its_pools() {
        let root = tempfile::tempdir().unwrap();
        for d in ["pool", "other", "not-a-name"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        std::fs::write(root.path().join("file"), "x").unwrap();
        let names: Vec<String> = pools_in(root.path()).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["other", "pool"]);
        assert_eq!(pools_in(&root.path().join("missing")), Vec::new());
    }

    #[test]
    fn mounting_links_each_pool_by_its_name() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("x.csv"), "1,2\n").unwrap();
        let folder = tempfile::tempdir().unwrap();
        let pools = [Pool {
            name: "measurements".into(),
            dir: data.path().to_path_buf(),
        }];
        let at = mount(folder.path(), &pools).unwrap();
        assert_eq!(at, folder.path().join("datapool"));
        let text = std::fs::read_to_string(at.join("measurements/x.csv")).unwrap();
        assert_eq!(text, "1,2\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&at).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Without pools the folder is there, empty.
        let other = tempfile::tempdir().unwrap();
        let at = mount(other.path(), &[]).unwrap();
        assert_eq!(std::fs::read_dir(at).unwrap().count(), 0);
    }
}
