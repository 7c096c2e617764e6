"""The blueprint tree, built once at import: feature blueprints nest under the /w/<slug> parent,
so they inherit its sign-in requirement, membership check and workspace binding."""

from crm.activities.company_routes import bp as company_activities_bp
from crm.activities.deal_routes import bp as deal_activities_bp
from crm.activities.routes import bp as activities_bp
from crm.activities.task_routes import bp as tasks_bp
from crm.audit.routes import bp as audit_bp
from crm.auth.routes import bp as auth_bp
from crm.backup.routes import bp as backup_bp
from crm.billing.routes import bp as billing_bp
from crm.billing.routes import webhook_bp as billing_webhook_bp
from crm.contacts.company_routes import bp as companies_bp
from crm.contacts.routes import bp as contacts_bp
from crm.contacts.search_routes import bp as search_bp
from crm.contacts.search_routes import care_bp
from crm.contacts.tier_routes import bp as customer_tiers_bp
from crm.contacts.trash_routes import bp as trash_bp
from crm.contacts.views_routes import bp as saved_views_bp
from crm.contacts.views_routes import company_views_bp
from crm.custom_fields.routes import bp as custom_fields_bp
from crm.custom_fields.routes import reveal_bp
from crm.data_quality.routes import bp as data_quality_bp
from crm.deals.admin_routes import bp as pipeline_admin_bp
from crm.deals.customer_routes import bp as deal_customers_bp
from crm.deals.list_routes import bp as deal_list_bp
from crm.deals.lost_reason_routes import bp as lost_reasons_bp
from crm.deals.routes import bp as deals_bp
from crm.duplicates.routes import bp as duplicates_bp
from crm.imports.routes import bp as imports_bp
from crm.members.routes import bp as members_bp
from crm.members.routes import join_bp
from crm.notes.routes import bp as notes_bp
from crm.portal import request_routes as _portal_request_routes  # noqa: F401  (more routes on portal_bp)
from crm.portal.routes import bp as portal_bp
from crm.portal.settings_routes import bp as service_settings_bp
from crm.products.item_routes import bp as deal_items_bp
from crm.products.routes import bp as products_bp
from crm.purchases.company_routes import bp as company_purchases_bp
from crm.purchases.routes import bp as purchases_bp
from crm.quotes.routes import bp as quotes_bp
from crm.reports.routes import bp as reports_bp
from crm.reports.service_routes import bp as service_report_bp
from crm.roles.routes import bp as roles_bp
from crm.saved_replies.routes import bp as saved_replies_bp
from crm.site.routes import bp as site_bp
from crm.site.routes import dev_bp
from crm.tickets import work_routes as _ticket_work_routes  # noqa: F401  (more routes on the tickets blueprint)
from crm.tickets.rotation_routes import bp as ticket_assignment_bp
from crm.tickets.routes import bp as tickets_bp
from crm.tickets.sla_routes import bp as sla_settings_bp
from crm.workspaces.routes import bp as workspaces_bp
from crm.workspaces.routes import ws_bp

ws_bp.register_blueprint(notes_bp)
ws_bp.register_blueprint(members_bp)
ws_bp.register_blueprint(roles_bp)
ws_bp.register_blueprint(audit_bp)
ws_bp.register_blueprint(contacts_bp)
ws_bp.register_blueprint(companies_bp)
ws_bp.register_blueprint(activities_bp)
ws_bp.register_blueprint(deal_activities_bp)
ws_bp.register_blueprint(company_activities_bp)
ws_bp.register_blueprint(tasks_bp)
ws_bp.register_blueprint(search_bp)
ws_bp.register_blueprint(care_bp)
ws_bp.register_blueprint(customer_tiers_bp)
ws_bp.register_blueprint(saved_views_bp)
ws_bp.register_blueprint(company_views_bp)
ws_bp.register_blueprint(trash_bp)
ws_bp.register_blueprint(custom_fields_bp)
ws_bp.register_blueprint(reveal_bp)
ws_bp.register_blueprint(purchases_bp)
ws_bp.register_blueprint(company_purchases_bp)
ws_bp.register_blueprint(imports_bp)
ws_bp.register_blueprint(data_quality_bp)
ws_bp.register_blueprint(backup_bp)
ws_bp.register_blueprint(billing_bp)
ws_bp.register_blueprint(duplicates_bp)
ws_bp.register_blueprint(deals_bp)
ws_bp.register_blueprint(deal_list_bp)
ws_bp.register_blueprint(sla_settings_bp)
ws_bp.register_blueprint(saved_replies_bp)
ws_bp.register_blueprint(ticket_assignment_bp)
ws_bp.register_blueprint(deal_customers_bp)
ws_bp.register_blueprint(pipeline_admin_bp)
ws_bp.register_blueprint(reports_bp)
ws_bp.register_blueprint(service_report_bp)
ws_bp.register_blueprint(products_bp)
ws_bp.register_blueprint(deal_items_bp)
ws_bp.register_blueprint(quotes_bp)
ws_bp.register_blueprint(lost_reasons_bp)
ws_bp.register_blueprint(service_settings_bp)
ws_bp.register_blueprint(tickets_bp)

APP_BLUEPRINTS = (site_bp, auth_bp, workspaces_bp, ws_bp, join_bp, portal_bp, billing_webhook_bp)
DEV_BLUEPRINTS = (dev_bp,)
