//! The OpenAPI document served at `GET /v1/openapi.json`, generated from the handlers'
//! annotations and the chat-protocol types.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{app_settings, channels, membership, messages, search, send_batch, sync, users};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "user_token",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("User token: HS256 JWT signed with the app secret"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "server_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The OnyxChat REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "OnyxChat API", description = "REST and sync API of chat-server. \
        Realtime events use the Centrifuge protocol on /connection/websocket (see docs/protocol.md)."),
    paths(
        users::upsert_users, users::get_user,
        channels::create_channel, channels::get_channel, channels::update_channel,
        channels::query_channels, channels::add_members, channels::remove_member,
        membership::update_member_state, membership::delete_channel,
        channels::mark_read, channels::typing,
        messages::send_message, send_batch::send_messages, messages::list_messages,
        messages::list_replies,
        messages::get_message, messages::update_message, messages::delete_message,
        messages::add_reaction, messages::remove_reaction, messages::list_reactions,
        messages::star, messages::unstar, messages::starred, search::search,
        sync::sync, sync::unread,
        app_settings::get_settings, app_settings::put_settings,
    ),
    components(schemas(chat_protocol::SyncChange, chat_protocol::Change)),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
