//! The `surety` command: `serve` (the default), `migrate`, `upkeep`, `keys rotate`, and admin
//! actions on clients and users. The only place `anyhow` errors end.

use anyhow::Context;
use clap::{Parser, Subcommand};
use surety::admin::clients::{self, ClientInput};
use surety::app;
use surety::config::Settings;

/// mimalloc serves the request path's many small, short-lived allocations with less CPU
/// than glibc malloc (and thread-local free lists instead of arenas; see bench results in
/// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "surety",
    version,
    about = "An OAuth 2.0 / OpenID Connect identity provider"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve {
        /// Seed a demo confidential client, public client and user, and print them.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Run one upkeep pass now (what each node runs every `SURETY_PURGE_INTERVAL`):
    /// delete expired rows, print how many and how long it took.
    Upkeep,
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// OAuth clients.
    Clients {
        #[command(subcommand)]
        action: ClientsAction,
    },
    /// Users.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Resource servers clients may name in `resource` (RFC 8707).
    Resources {
        #[command(subcommand)]
        action: ResourcesAction,
    },
    /// Developer apps (the developer API's actions, for operators and scripts).
    Apps {
        #[command(subcommand)]
        action: AppsAction,
    },
    /// Verified entities: bulk import, synthetic data.
    Entities {
        #[command(subcommand)]
        action: surety::cli::entities::EntitiesAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Introduce a new key per algorithm; it is published now and signs after the delay.
    Rotate {
        /// Seconds before the new keys sign (default: twice the key reload interval).
        #[arg(long)]
        activate_in: Option<i64>,
    },
    /// Print the published JWK Set.
    List,
}

#[derive(Subcommand)]
enum ClientsAction {
    /// Register a client from RFC 7591 metadata given as JSON.
    Create {
        /// e.g. '{"client_name":"App","redirect_uris":["https://app.example/cb"]}'
        metadata: String,
    },
    Get {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Replace a client's metadata (RFC 7591 JSON), as `PUT /admin/clients/{id}` does.
    Update {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        metadata: String,
    },
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum ResourcesAction {
    /// Register a resource server: its URI, a name, the scopes it accepts.
    Create {
        uri: String,
        #[arg(long)]
        name: String,
        /// Space-separated scopes, e.g. "orders:read orders:write".
        #[arg(long, default_value = "")]
        scopes: String,
    },
    List,
    Delete {
        uri: String,
    },
}

#[derive(Subcommand)]
enum AppsAction {
    /// Register an app for a developer account from JSON, as `POST /developer/v1/apps` does.
    Create {
        developer_sid: String,
        /// e.g. '{"display_name":"Dialer","redirect_uris":["https://d.example/cb"],"permissions":[{"name":"read"}]}'
        app: String,
    },
    /// List a developer's apps.
    List { developer_sid: String },
    /// Delete an app and its client (ids are base64url: one may begin with `-`).
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum UsersAction {
    /// Create a user; the password is read from SURETY_NEW_PASSWORD or stdin.
    Create {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    Get {
        sub: String,
    },
    Delete {
        sub: String,
    },
}

fn init_tracing(s: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    if s.log_format == "json" {
        b.json().flatten_event(true).with_current_span(true).init();
    } else {
        b.init();
    }
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// glibc gives each thread that meets contention its own malloc arena (up to 8 per core)
/// and keeps freed memory in each; for a server whose tasks hop between runtime threads
/// that inflates resident memory several-fold. Two arenas keep it small.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called once at start-up, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("reading configuration")?;
    init_tracing(&settings);
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Migrate => {
            app::open_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Upkeep => upkeep(settings).await,
        Command::Keys { action } => keys(settings, action).await,
        Command::Clients { action } => client_cmd(settings, action).await,
        Command::Users { action } => user_cmd(settings, action).await,
        Command::Apps { action } => app_cmd(settings, action).await,
        Command::Resources { action } => resource_cmd(settings, action).await,
        Command::Entities { action } => {
            let open = || async {
                let store = app::open_store(&settings).await?;
                Ok(std::sync::Arc::new(store) as std::sync::Arc<dyn surety::store::EntityStore>)
            };
            surety::cli::entities::run(open, action).await
        }
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let running = app::spawn(settings, app::Deps::default()).await?;
    if demo {
        let d = surety::demo::seed(&running.provider).await?;
        println!("{}", surety::demo::banner(&running.provider, &d));
    }
    let stop = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {},
        }
    };
    stop.await;
    tracing::info!("shutting down; finishing in-flight requests");
    running.shutdown().await;
    Ok(())
}

async fn provider(settings: Settings) -> anyhow::Result<surety::oauth::provider::Provider> {
    app::build_provider(settings, app::Deps::default()).await
}

async fn upkeep(settings: Settings) -> anyhow::Result<()> {
    let p = provider(settings).await?;
    let started = std::time::Instant::now();
    let rows = app::upkeep_pass(&p).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("{}", serde_json::json!({"rows_deleted": rows, "ms": ms}));
    Ok(())
}

async fn keys(settings: Settings, action: KeysAction) -> anyhow::Result<()> {
    let default_delay = 2 * settings.key_reload_interval as i64;
    let p = provider(settings).await?;
    match action {
        KeysAction::Rotate { activate_in } => {
            let kids = p
                .keys
                .rotate(p.now(), activate_in.unwrap_or(default_delay))
                .await?;
            println!(
                "new keys {} sign in {}s",
                kids.join(", "),
                activate_in.unwrap_or(default_delay)
            );
        }
        KeysAction::List => println!("{}", serde_json::to_string_pretty(&p.keys.jwks(p.now()))?),
    }
    Ok(())
}

async fn resource_cmd(settings: Settings, action: ResourcesAction) -> anyhow::Result<()> {
    use surety::admin::resource_servers::{self as rs, Refused, ResourceServerInput};
    let p = provider(settings).await?;
    match action {
        ResourcesAction::Create { uri, name, scopes } => {
            let scopes = scopes.split_whitespace().map(str::to_owned).collect();
            let input = ResourceServerInput { uri, name, scopes };
            let out = match rs::register(&p.stores, &p.scopes, input, p.now()).await {
                Ok(out) => out,
                Err(Refused::Field(e)) => anyhow::bail!("{e}"),
                Err(Refused::Taken) => anyhow::bail!("this resource server is registered already"),
                Err(Refused::Store(e)) => return Err(e.into()),
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ResourcesAction::List => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rs::list(&p.stores).await?)?
            );
        }
        ResourcesAction::Delete { uri } => {
            rs::remove(&p.stores, &uri).await?;
            println!("deleted {uri}");
        }
    }
    Ok(())
}

async fn client_cmd(settings: Settings, action: ClientsAction) -> anyhow::Result<()> {
    let p = provider(settings).await?;
    let known: Vec<&str> = p.grants.grant_types().collect();
    let out = match action {
        ClientsAction::Create { metadata } => {
            let input: ClientInput =
                serde_json::from_str(&metadata).context("client metadata JSON")?;
            clients::create(
                &p.stores,
                p.entropy.as_ref(),
                &p.fetch,
                input,
                &known,
                p.now(),
            )
            .await?
        }
        ClientsAction::Update {
            client_id,
            metadata,
        } => {
            let input: ClientInput =
                serde_json::from_str(&metadata).context("client metadata JSON")?;
            let (rng, fetch) = (p.entropy.as_ref(), &p.fetch);
            clients::update(&p.stores, rng, fetch, &client_id, input, &known).await?
        }
        ClientsAction::Get { client_id } => clients::get(&p.stores, &client_id).await?,
        ClientsAction::Delete { client_id } => {
            clients::delete(&p.stores, &client_id, p.now()).await?;
            println!("deleted {client_id}");
            return Ok(());
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn user_cmd(settings: Settings, action: UsersAction) -> anyhow::Result<()> {
    let p = provider(settings).await?;
    match action {
        UsersAction::Create {
            username,
            email,
            name,
        } => {
            let pw = match std::env::var("SURETY_NEW_PASSWORD") {
                Ok(pw) => pw,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let u = surety::accounts::users::create(
                p.stores.users.as_ref(),
                p.entropy.as_ref(),
                &username,
                pw,
                email,
                name,
                p.now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({"sub": u.sub, "username": u.username})
            );
        }
        UsersAction::Get { sub } => {
            let u = surety::accounts::users::get(p.stores.users.as_ref(), &sub).await?;
            println!(
                "{}",
                serde_json::json!({"sub": u.sub, "username": u.username, "email": u.email, "name": u.name})
            );
        }
        UsersAction::Delete { sub } => {
            surety::accounts::users::remove(p.stores.users.as_ref(), &sub).await?;
            println!("deleted {sub}");
        }
    }
    Ok(())
}

async fn app_cmd(settings: Settings, action: AppsAction) -> anyhow::Result<()> {
    use surety::connect::apps::{self, AppInput};
    let p = provider(settings).await?;
    match action {
        AppsAction::Create { developer_sid, app } => {
            let dev = p
                .stores
                .accounts
                .get_account(&developer_sid)
                .await
                .context("developer account")?;
            let input: AppInput = serde_json::from_str(&app).context("app JSON")?;
            let known: Vec<&str> = p.grants.grant_types().collect();
            let out = apps::register(
                &p.stores,
                p.entropy.as_ref(),
                &p.keys,
                &dev.sid,
                input,
                &known,
                p.now(),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        AppsAction::List { developer_sid } => {
            for out in apps::list(&p.stores, &developer_sid).await? {
                println!("{}", serde_json::to_string(&out)?);
            }
        }
        AppsAction::Delete { client_id } => {
            apps::remove(&p.stores, None, &client_id).await?;
            println!("deleted {client_id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client ids are base64url: about one in 64 begins with `-`, which clap would
    /// otherwise take for an option.
    #[test]
    fn a_client_id_beginning_with_a_dash_is_a_value() {
        for args in [
            &["surety", "apps", "delete", "-Ab3"][..],
            &["surety", "clients", "get", "-Ab3"],
            &["surety", "clients", "delete", "-Ab3"],
            &["surety", "clients", "update", "-Ab3", "{}"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }
}
