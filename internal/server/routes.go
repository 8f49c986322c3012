package server

import (
	"context"
	"net/http"

	paymentpages "github.com/connect-oss/connect/internal/billing/pages"
	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/delivery"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/identity"
	"github.com/connect-oss/connect/internal/message"
	"github.com/connect-oss/connect/internal/metadata"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/privacy"
	"github.com/connect-oss/connect/internal/recruitment"
	"github.com/connect-oss/connect/internal/stock"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Routes is every route the server answers, in one place. The OpenAPI
// document (api/openapi.yaml) must list exactly these operations; a test
// checks that.
func Routes(d Deps) []Route {
	products := catalog.Handlers{DB: d.DB}
	// Customer Data and Order Management.
	customers := customer.Handlers{DB: d.DB, HasSubscription: order.HasSubscription}
	orders := order.Handlers{DB: d.DB, Deps: d.Orders}
	// Subscriptions, access and sharing.
	subs := subscription.Handlers{DB: d.DB, Cache: d.Entitlements,
		ResolveUser: func(ctx context.Context, uniqueID, credential string) (int64, bool, error) {
			return identity.ResolveUser(ctx, d.DB, uniqueID, credential)
		}, InvoiceStart: delivery.IssueStartInvoice}
	if d.Identity != nil { // share invitations go out as ConnectID's messages do
		subs.SendInvitation = func(ctx context.Context, m subscription.Invitation) error {
			return d.Identity.Sender.Send(ctx, identity.Message{Channel: m.Channel, To: m.To, Subject: m.Subject, Body: m.Body})
		}
	}
	// Delivery stops and plans.
	stops := delivery.Handlers{DB: d.DB}
	// Privacy: the export's orders section is the order lists' shape.
	priv := privacy.Handlers{DB: d.DB, OAuth: d.OAuth, Billing: d.Billing.Engine, Log: d.Logger,
		Orders: func(ctx context.Context, q store.Queryer, companyID, customerNumber, userNumber int64) (any, error) {
			return order.Find(ctx, q, order.Filter{CompanyID: companyID, UserScope: true, UserCustomer: customerNumber,
				UserNumber: userNumber, Details: true})
		}}
	var oauthToken, jwks http.Handler = unavailable(), unavailable()
	if d.OAuth != nil {
		oauthToken, jwks = d.OAuth.TokenEndpoint(), d.OAuth.JWKS()
	}
	// ConnectID.
	cid := connectID(d)
	// Recruitment: each recruited person's order goes through package order.
	recruits := recruitment.Handlers{DB: d.DB, Orders: d.Orders}
	// User Data: metadata.
	meta := metadata.Handlers{DB: d.DB}
	// Diverse: messages and status notices; stock levels.
	messages, stocks := message.Handlers{DB: d.DB}, stock.Handlers{DB: d.DB}
	// Payment Services: the login server's payment pages.
	payPages := &paymentpages.Pages{Engine: d.Billing.Engine, Sessions: d.Orders.Sessions, PublicURL: d.Billing.PublicURL}
	return []Route{
		// Customer Data (customer.md). The two client-mode GETs under
		// /capi/v1/client/customer/{a}/{b} share one pattern (README §14).
		{ID: "address-change", Method: "POST", Path: "/capi/v1/customer/address", Mode: UserOnly, Handler: customers.AddressChange()},
		{ID: "address-list", Method: "GET", Path: "/capi/v1/customer/address", Mode: UserOnly, Handler: customers.AddressList()},
		{ID: "address-list-client", Method: "GET", Path: "/capi/v1/client/address/{customerNumber}", Mode: ClientOnly, Handler: customers.AddressListClient()},
		{ID: "address-product-list-client", Method: "GET", Path: "/capi/v1/client/address/{customerNumber}/{productCode}", Mode: ClientOnly, Handler: customers.AddressProductListClient()},
		{ID: "address-product-list", Method: "GET", Path: "/capi/v1/customer/address/{productCode}", Mode: UserOnly, Handler: customers.AddressProductList()},
		{ID: "category-type-list", Method: "GET", Path: "/capi/v1/customer/category/type", Mode: UserOnly, Handler: products.CategoryTypes()},
		{ID: "category-code-list", Method: "GET", Path: "/capi/v1/customer/category/code", Mode: UserOnly, Handler: products.CategoryCodes()},
		{ID: "category-code-type-list", Method: "GET", Path: "/capi/v1/customer/category/code/{categoryType}", Mode: UserOnly, Handler: products.CategoryCodes()},
		{ID: "customer-info-list", Method: "GET", Path: "/capi/v1/customer/info", Mode: UserOnly, Handler: customers.InfoList()},
		{ID: "customer-info-change", Method: "POST", Path: "/capi/v1/customer/info", Mode: UserOnly, Handler: customers.InfoChange()},
		{ID: "customer-search-client", Method: "POST", Path: "/capi/v1/client/customer/search", Mode: ClientOnly, Handler: customers.SearchClient()},
		{ID: "customer-number-check-client", Method: "POST", Path: "/capi/v1/client/customer/check", Mode: ClientOnly, Handler: customers.CheckClient()},
		{ID: "customer-info-list-client", Method: "GET", Path: "/capi/v1/client/customer/{a}/{b}", Mode: ClientOnly, Handler: customers.InfoOrExternalReferences(),
			Serves: []string{"customer-info-list-client GET /capi/v1/client/customer/info/{customerNumber}",
				"extref-list-client GET /capi/v1/client/customer/{customerNumber}/external-reference"}},
		{ID: "extref-register-client", Method: "POST", Path: "/capi/v1/client/customer/{a}/{b}", Mode: ClientOnly, Handler: customers.ExternalReferenceRegister(),
			Serves: []string{"extref-register-client POST /capi/v1/client/customer/{customerNumber}/external-reference"}},
		{ID: "extref-change-client", Method: "PATCH", Path: "/capi/v1/client/customer/{customerNumber}/external-reference/{referenceCode}", Mode: ClientOnly, Handler: customers.ExternalReferenceChange()},
		{ID: "extref-remove-client", Method: "DELETE", Path: "/capi/v1/client/customer/{customerNumber}/external-reference/{referenceCode}", Mode: ClientOnly, Handler: customers.ExternalReferenceRemove()},

		// Order Management (order.md).
		{ID: "article-price-check", Method: "POST", Path: "/capi/v1/customer/article/price", Mode: UserOnly, Handler: orders.ArticlePrice()},
		{ID: "coupon-price-check-client", Method: "POST", Path: "/capi/v1/client/coupon/price", Mode: ClientOnly, Handler: orders.CouponPrice()},
		{ID: "coupon-list-client", Method: "GET", Path: "/capi/v1/client/coupon/{productCode}", Mode: ClientOnly, Handler: orders.Coupons()},
		{ID: "coupon-number-list-client", Method: "GET", Path: "/capi/v1/client/coupon/{productCode}/{couponNumber}", Mode: ClientOnly, Handler: orders.Coupons()},
		{ID: "order-fulfillment-client", Method: "POST", Path: "/capi/v1/client/order/fulfillment", Mode: ClientOnly, Handler: orders.FulfillClient()},
		{ID: "order-list", Method: "GET", Path: "/capi/v1/order/status", Mode: UserOnly, Handler: orders.ListUser()},
		{ID: "order-search", Method: "POST", Path: "/capi/v1/order/status", Mode: UserOnly, Handler: orders.SearchUser()},
		{ID: "order-product-history", Method: "GET", Path: "/capi/v1/customer/order/product/history", Mode: UserOnly, Handler: orders.ProductHistory()},
		{ID: "order-status-client", Method: "GET", Path: "/capi/v1/client/order/status/{orderId}", Mode: ClientOnly, Handler: orders.StatusClient()},
		{ID: "order-customer-register-client", Method: "POST", Path: "/capi/v1/client/customer", Mode: ClientOnly, Handler: orders.RegisterCustomer()},
		{ID: "order-customer-register", Method: "POST", Path: "/capi/v1/customer", Mode: UserOnly, Handler: orders.RegisterCustomer()},
		{ID: "order-register-client", Method: "POST", Path: "/capi/v1/client/order", Mode: ClientOnly, DefaultXML: true, Handler: orders.Register()},
		{ID: "order-register", Method: "POST", Path: "/capi/v1/order", Mode: UserOnly, DefaultXML: true, Handler: orders.Register()},
		{ID: "reward-check-client", Method: "POST", Path: "/capi/v1/client/reward/check", Mode: ClientOnly, Handler: orders.RewardCheck()},
		{ID: "order-user-assign-client", Method: "POST", Path: "/capi/v1/client/order/{orderId}/user", Mode: ClientOnly, Handler: orders.AssignUser()},
		{ID: "voucher-coupon-list-client", Method: "GET", Path: "/capi/v1/client/voucher/coupons/{voucherCode}", Mode: ClientOnly, Handler: orders.VoucherCoupons()},
		// The fulfillment page (README §4; /user/order is the older name).
		{ID: "fulfillment-page", Method: "GET", Path: "/user/fulfillment", Handler: orders.Page()},
		{ID: "fulfillment-submit", Method: "POST", Path: "/user/fulfillment", Handler: orders.PageSubmit()},
		{ID: "order-page", Method: "GET", Path: "/user/order", Handler: orders.Page()},
		{ID: "order-page-submit", Method: "POST", Path: "/user/order", Handler: orders.PageSubmit()},

		// Operations.
		{ID: "healthz", Method: "GET", Path: "/healthz", Handler: healthz()},
		{ID: "readyz", Method: "GET", Path: "/readyz", Handler: readyz(d.DB)},
		{ID: "metrics", Method: "GET", Path: "/metrics", Handler: metricsHandler(d.Metrics)},
		{ID: "openapi", Method: "GET", Path: "/capi/openapi.yaml", Handler: openAPI(d.OpenAPI)},

		// ConnectID: OAuth 2.0 (spec README §3.2).
		{ID: "oauth-token", Method: "POST", Path: "/user/oauth/token", Handler: oauthToken},
		{ID: "jwks", Method: "GET", Path: "/user/.well-known/jwks.json", Handler: jwks},

		// ConnectID: OAuth 2.0 / OpenID Connect beyond the token endpoint.
		{ID: "oauth-authorize", Method: "GET", Path: "/user/oauth/authorize", Handler: cid.authorize},
		{ID: "oauth-revoke", Method: "POST", Path: "/user/oauth/revoke", Handler: cid.revoke},
		{ID: "oauth-introspect", Method: "POST", Path: "/user/oauth/introspect", Handler: cid.introspect},
		{ID: "oauth-userinfo", Method: "GET", Path: "/user/oauth/userinfo", Handler: cid.userinfo},
		{ID: "oauth-userinfo-post", Method: "POST", Path: "/user/oauth/userinfo", Handler: cid.userinfo},
		{ID: "openid-configuration", Method: "GET", Path: "/user/.well-known/openid-configuration", Handler: cid.discovery},
		// ConnectID: login-server pages (spec README §4).
		{ID: "page-login", Method: "GET", Path: "/user/login", Handler: cid.loginPage},
		{ID: "page-login-submit", Method: "POST", Path: "/user/login", Handler: cid.loginSubmit},
		{ID: "page-oauth-login", Method: "GET", Path: "/user/oauthLogin", Handler: cid.loginPage},
		{ID: "page-oauth-login-submit", Method: "POST", Path: "/user/oauthLogin", Handler: cid.loginSubmit},
		{ID: "page-create-user", Method: "GET", Path: "/user/createUser", Handler: cid.createUser},
		{ID: "page-create-user-submit", Method: "POST", Path: "/user/createUser", Handler: cid.createUser},
		{ID: "page-register", Method: "GET", Path: "/user/register", Handler: cid.createUser},
		{ID: "page-register-submit", Method: "POST", Path: "/user/register", Handler: cid.createUser},
		{ID: "page-login-check", Method: "GET", Path: "/user/loginCheck", Handler: cid.loginCheck},
		{ID: "page-logout", Method: "GET", Path: "/user/logout", Handler: cid.logout},
		{ID: "page-reset", Method: "GET", Path: "/user/reset", Handler: cid.reset},
		{ID: "page-reset-submit", Method: "POST", Path: "/user/reset", Handler: cid.reset},
		{ID: "page-account", Method: "GET", Path: "/user/account", Handler: cid.account},
		{ID: "page-account-submit", Method: "POST", Path: "/user/account", Handler: cid.account},
		{ID: "page-dev-mailbox", Method: "GET", Path: "/user/dev/mailbox", Handler: cid.mailbox},
		// ConnectID: API (userdata.md Profile, Credential; diverse.md External Identity).
		{ID: "profile-list", Method: "GET", Path: "/capi/v1/user/profile", Mode: UserOnly, Handler: cid.profile},
		{ID: "profile-external-list", Method: "GET", Path: "/capi/v1/user/profile/external", Mode: UserOnly, Handler: cid.externalProfiles},
		{ID: "customer-profile-list", Method: "GET", Path: "/capi/v1/customer/profile", Mode: UserOnly, DefaultXML: true, Handler: cid.legacyProfile},
		{ID: "credential-check-client", Method: "POST", Path: "/capi/v1/client/credential/check", Mode: ClientOnly, Handler: cid.credentialCheck},
		{ID: "extid-register-client", Method: "POST", Path: "/capi/v1/client/extid", Mode: ClientOnly, Handler: cid.extidRegister},
		{ID: "extid-customer-register-client", Method: "POST", Path: "/capi/v1/client/extid/customer", Mode: ClientOnly, Handler: cid.extidCustomer},

		// Product & Services: Product.
		{ID: "product-list-client", Method: "GET", Path: "/capi/v1/client/product", Mode: ClientOnly, DefaultXML: true, Handler: products.List()},
		{ID: "product-check-client", Method: "POST", Path: "/capi/v1/client/product", Mode: ClientOnly, DefaultXML: true, Handler: products.Check()},
		{ID: "product-specific-list-client", Method: "GET", Path: "/capi/v1/client/product/{productType}", Mode: ClientOnly, DefaultXML: true, Handler: products.ListByType()},

		// Events.
		{ID: "event-failed-list-client", Method: "GET", Path: "/capi/v1/client/events/failed", Mode: ClientOnly, Handler: event.Handlers{DB: d.DB}.ListFailed()},
		{ID: "event-replay-client", Method: "POST", Path: "/capi/v1/client/events/{eventId}/replay", Mode: ClientOnly, Handler: event.Handlers{DB: d.DB}.Replay()},

		// Subscriptions, access and sharing (product.md Subscription, Sharing; userdata.md Access).
		{ID: "access-check", Method: "POST", Path: "/capi/v1/customer/access", Mode: UserOnly, Handler: subs.AccessCheck()},
		{ID: "access-check-client", Method: "POST", Path: "/capi/v1/client/access", Mode: ClientOnly, Handler: subs.AccessCheckClient()},
		{ID: "customer-product-list", Method: "GET", Path: "/capi/v1/customer/product", Mode: UserOnly, DefaultXML: true, Handler: subs.CustomerProducts()},
		{ID: "subscription-list", Method: "GET", Path: "/capi/v1/subscription", Mode: UserOnly, DefaultXML: true, Handler: subs.List()},
		{ID: "subscription-start", Method: "POST", Path: "/capi/v1/subscription", Mode: UserOnly, Handler: subs.StartSubscription()},
		{ID: "subscription-list-client", Method: "GET", Path: "/capi/v1/client/subscription/{customerNumber}", Mode: ClientOnly, DefaultXML: true, Handler: subs.ListClient()},
		{ID: "subscription-shared-list", Method: "GET", Path: "/capi/v1/subscription/shared", Mode: UserOnly, Handler: subs.SharedList()},
		{ID: "share-invitation-send", Method: "POST", Path: "/capi/v1/subscription/share/invitation", Mode: UserOnly, Handler: subs.ShareSend()},
		{ID: "share-invitation-accept", Method: "PATCH", Path: "/capi/v1/subscription/share/invitation", Mode: UserOnly, Handler: subs.ShareAccept()},
		{ID: "share-decline-client", Method: "PATCH", Path: "/capi/v1/client/subscription/share/invitation", Mode: ClientOnly, Handler: subs.ShareDeclineClient()},
		{ID: "share-invitation-details-change", Method: "PATCH", Path: "/capi/v1/subscription/share/invitation/{shareCode}", Mode: UserOnly, Handler: subs.ShareChange()},
		{ID: "share-subscriber-list", Method: "GET", Path: "/capi/v1/subscription/share", Mode: UserOnly, Handler: subs.ShareList()},
		{ID: "share-cancel", Method: "PATCH", Path: "/capi/v1/subscription/share", Mode: UserOnly, Handler: subs.ShareCancel()},
		{ID: "share-rule-list", Method: "GET", Path: "/capi/v1/customer/product/share/rule/{productCode}", Mode: UserOnly, Handler: subs.ShareRuleList()},
		{ID: "share-distribution-level-list", Method: "GET", Path: "/capi/v1/customer/product/share/distributionlevel/{productCode}", Mode: UserOnly, Handler: subs.DistributionLevelList()},
		{ID: "share-distribution-level-change", Method: "PATCH", Path: "/capi/v1/customer/product/share/distributionlevel/{productCode}", Mode: UserOnly, Handler: subs.DistributionLevelChange()},
		{ID: "share-net-list", Method: "GET", Path: "/capi/v1/customer/product/share/net/{productCode}", Mode: UserOnly, Handler: subs.ShareNetList()},
		{ID: "share-net-change", Method: "POST", Path: "/capi/v1/customer/product/share/net/{productCode}", Mode: UserOnly, Handler: subs.ShareNetChange()},
		// Product & Services: DeliveryStop (product.md).
		{ID: "delivery-stop-register", Method: "POST", Path: "/capi/v1/product/stop/delivery", Mode: UserOnly, Handler: stops.Register()},
		{ID: "delivery-stop-list", Method: "GET", Path: "/capi/v1/product/stop/delivery/{productCode}", Mode: UserOnly, Handler: stops.List()},
		{ID: "delivery-stop-remove", Method: "POST", Path: "/capi/v1/product/stop/delivery/delete/{id}", Mode: UserOnly, Handler: stops.Remove()},
		{ID: "delivery-stop-list-client", Method: "GET", Path: "/capi/v1/client/stop/delivery/{customerNumber}", Mode: ClientOnly, Handler: stops.ListClient()},
		// Product & Services: ProductDeliveryPlan (product.md).
		{ID: "delivery-plan-list-client", Method: "GET", Path: "/capi/v1/client/productdeliveryplan", Mode: ClientOnly, Handler: stops.PlanListClient()},
		// Product & Services: Complaint, Issue, Delivery (product.md), on the issue calendar.
		{ID: "complaint-register", Method: "POST", Path: "/capi/v1/product/delivery/complaint", Mode: UserOnly, Handler: stops.ComplaintRegister()},
		{ID: "complaint-list", Method: "GET", Path: "/capi/v1/product/delivery/complaint/{product}", Mode: UserOnly, Handler: stops.ComplaintList()},
		{ID: "issue-distributed-list", Method: "GET", Path: "/capi/v1/customer/issues/{productCode}", Mode: UserOnly, Handler: stops.IssueDistributedList()},
		{ID: "issue-product-list-client", Method: "GET", Path: "/capi/v1/client/issues/{productId}", Mode: ClientOnly, Handler: stops.IssueProductListClient()},
		{ID: "delivery-next-list", Method: "GET", Path: "/capi/v1/product/delivery/{productCode}", Mode: UserOnly, Handler: stops.NextList()},
		{ID: "delivery-next-list-client", Method: "GET", Path: "/capi/v1/client/delivery/{productCode}", Mode: ClientOnly, Handler: stops.NextListClient()},
		// Product & Services: ProductDependency (product.md).
		{ID: "product-dependency-discount-check-client", Method: "POST", Path: "/capi/v1/client/productdependency/discount", Mode: ClientOnly,
			Handler: catalog.DependencyHandlers{DB: d.DB, Now: subscription.Now}.DependencyDiscountCheck()},

		// Payment Services (payment.md): invoices, invoice address, stored means, payment methods.
		{ID: "invoice-details", Method: "GET", Path: "/capi/v1/customer/invoice/details/{invoiceNumber}", Mode: UserOnly, Handler: d.Billing.Details()},
		{ID: "invoice-list-client", Method: "GET", Path: "/capi/v1/client/customer/invoice/payment/{customerNumber}", Mode: ClientOnly, Handler: d.Billing.ClientList(false)},
		{ID: "invoice-product-list-client", Method: "GET", Path: "/capi/v1/client/customer/invoice/payment/{customerNumber}/{productCode}", Mode: ClientOnly, Handler: d.Billing.ClientList(true)},
		{ID: "invoice-reminder-list", Method: "GET", Path: "/capi/v1/customer/invoice/payment", Mode: UserOnly, Handler: d.Billing.InvoicesAndReminders(false)},
		{ID: "invoice-reminder-product-list", Method: "GET", Path: "/capi/v1/customer/invoice/payment/{product}", Mode: UserOnly, Handler: d.Billing.InvoicesAndReminders(true)},
		{ID: "invoice-basic-list", Method: "GET", Path: "/capi/v1/customer/invoice/basic", Mode: UserOnly, Handler: d.Billing.Basic(false)},
		{ID: "invoice-basic-product-list", Method: "GET", Path: "/capi/v1/customer/invoice/basic/{product}", Mode: UserOnly, Handler: d.Billing.Basic(true)},
		{ID: "invoice-address-list", Method: "GET", Path: "/capi/v1/customer/invoiceaddress/{product}", Mode: UserOnly, Handler: d.Billing.Address()},
		{ID: "klarna-token-list", Method: "GET", Path: "/capi/v1/customer/payment/klarna/token", Mode: UserOnly, Handler: d.Billing.ListMeansHandler("klarnaToken")},
		{ID: "klarna-token-add", Method: "POST", Path: "/capi/v1/customer/payment/klarna/token", Mode: UserOnly, Handler: d.Billing.AddMeans("klarnaToken")},
		{ID: "klarna-token-remove", Method: "PATCH", Path: "/capi/v1/customer/payment/klarna/token", Mode: UserOnly, Handler: d.Billing.RemoveMeansHandler("klarnaToken")},
		{ID: "nexi-subscription-list", Method: "GET", Path: "/capi/v1/api/payment/nexi/subscription", Mode: UserOnly, Handler: d.Billing.ListMeansHandler("nexiSubscription")},
		{ID: "nexi-subscription-add", Method: "POST", Path: "/capi/v1/api/payment/nexi/subscription", Mode: UserOnly, Handler: d.Billing.AddMeans("nexiSubscription")},
		{ID: "nexi-subscription-remove", Method: "PATCH", Path: "/capi/v1/api/payment/nexi/subscription", Mode: UserOnly, Handler: d.Billing.RemoveMeansHandler("nexiSubscription")},
		{ID: "payex-token-list", Method: "GET", Path: "/capi/v1/api/payment/payex/token", Mode: UserOnly, Handler: d.Billing.ListMeansHandler("payexToken")},
		{ID: "payex-token-add", Method: "POST", Path: "/capi/v1/api/payment/payex/token", Mode: UserOnly, Handler: d.Billing.AddMeans("payexToken")},
		{ID: "payex-token-remove", Method: "PATCH", Path: "/capi/v1/api/payment/payex/token", Mode: UserOnly, Handler: d.Billing.RemoveMeansHandler("payexToken")},
		{ID: "payment-method-list", Method: "GET", Path: "/capi/v1/product/payment/{product}", Mode: UserOnly, Handler: d.Billing.MethodList()},
		{ID: "invoice-pay", Method: "POST", Path: "/capi/v1/customer/payment/invoice", Mode: UserOnly, Handler: d.Billing.Pay()},
		{ID: "payment-method-change", Method: "POST", Path: "/capi/v1/product/payment/{product}", Mode: UserOnly, Handler: d.Billing.MethodChange()},
		{ID: "vipps-agreement-list", Method: "GET", Path: "/capi/v1/customer/payment/vipps/agreement", Mode: UserOnly, Handler: d.Billing.ListMeansHandler("vippsAgreement")},
		{ID: "vipps-agreement-add", Method: "POST", Path: "/capi/v1/customer/payment/vipps/agreement", Mode: UserOnly, Handler: d.Billing.AddMeans("vippsAgreement")},
		{ID: "vipps-agreement-remove", Method: "PATCH", Path: "/capi/v1/customer/payment/vipps/agreement", Mode: UserOnly, Handler: d.Billing.RemoveMeansHandler("vippsAgreement")},
		// The payment pages (README §4, §12.2): where hosted flows send the browser.
		{ID: "page-payment-klarna-token-add", Method: "GET", Path: "/user/payment/klarna/token/add", Handler: payPages.Start("klarnaToken")},
		{ID: "page-payment-nexi-subscription-add", Method: "GET", Path: "/user/payment/nexi/subscription/add", Handler: payPages.Start("nexiSubscription")},
		{ID: "page-payment-payex-token-add", Method: "GET", Path: "/user/payment/payex/token/add", Handler: payPages.Start("payexToken")},
		{ID: "page-payment-vipps-agreement-add", Method: "GET", Path: "/user/payment/vipps/agreement/add", Handler: payPages.Start("vippsAgreement")},
		{ID: "page-payment-invoice-pay", Method: "GET", Path: "/user/payment/invoice/pay", Handler: payPages.Start("invoicePayment")},
		{ID: "page-payment-change", Method: "GET", Path: "/user/paymentChange", Handler: payPages.Change()},
		{ID: "page-payment-change-submit", Method: "POST", Path: "/user/paymentChange", Handler: payPages.ChangeSubmit()},
		{ID: "page-payment-test", Method: "GET", Path: "/user/payment/test/{transactionId}", Handler: payPages.TestPage()},
		{ID: "page-payment-test-submit", Method: "POST", Path: "/user/payment/test/{transactionId}", Handler: payPages.TestSubmit()},
		{ID: "page-invoice-view", Method: "GET", Path: "/user/invoice/view/{token}", Handler: payPages.InvoiceView()},

		// Privacy (privacy.md): consents, GDPR access and erasure, permissions and shields, purposes.
		{ID: "private-data-access", Method: "GET", Path: "/capi/v1/customer/private-data", Mode: UserOnly, Handler: priv.PrivateDataAccess()},
		{ID: "consent-event-history-list-client", Method: "GET", Path: "/capi/v1/client/customer/privacy/consentEvent/history/{issuer}/{subjectType}/{subject}", Mode: ClientOnly, Handler: priv.EventHistoryClient()},
		{ID: "consent-text-list-client", Method: "GET", Path: "/capi/v1/client/customer/privacy/consent/text/{issuer}", Mode: ClientOnly, Handler: priv.ConsentTextList()},
		{ID: "consent-text-history-list-client", Method: "GET", Path: "/capi/v1/client/customer/privacy/consent/text/history/{issuer}", Mode: ClientOnly, Handler: priv.ConsentTextHistoryList()},
		{ID: "consent-group-list-client", Method: "GET", Path: "/capi/v1/client/customer/privacy/consent/group/{issuer}", Mode: ClientOnly, Handler: priv.ConsentGroupList()},
		{ID: "consent-issuer-list-client", Method: "GET", Path: "/capi/v1/client/customer/privacy/consents/{issuer}", Mode: ClientOnly, Handler: priv.ConsentIssuerListClient()},
		{ID: "consent-event-history-list", Method: "GET", Path: "/capi/v1/customer/privacy/consentEvent/history/{issuer}", Mode: UserOnly, Handler: priv.EventHistory()},
		{ID: "consent-issuer-list", Method: "GET", Path: "/capi/v1/customer/privacy/consents/{issuer}", Mode: UserOnly, Handler: priv.ConsentIssuerList()},
		{ID: "consent-group-list", Method: "GET", Path: "/capi/v1/customer/privacy/consent/group/{issuer}", Mode: UserOnly, Handler: priv.ConsentGroupList()},
		{ID: "consent-event-register-client", Method: "POST", Path: "/capi/v1/client/customer/privacy/consentEvent", Mode: ClientOnly, Handler: priv.EventRegisterClient()},
		{ID: "consent-event-register", Method: "POST", Path: "/capi/v1/customer/privacy/consentEvent", Mode: UserOnly, Handler: priv.EventRegister()},
		{ID: "permission-global-list", Method: "GET", Path: "/capi/v1/customer/pbm", Mode: UserOnly, Handler: priv.PermissionList()},
		{ID: "permission-enterprise-list", Method: "GET", Path: "/capi/v1/customer/pbm/{enterpriseCode}", Mode: UserOnly, Handler: priv.PermissionList()},
		{ID: "permission-enterprise-change", Method: "POST", Path: "/capi/v1/customer/pbm/{enterpriseCode}", Mode: UserOnly, Handler: priv.PermissionChange()},
		{ID: "permission-ordertype-list", Method: "GET", Path: "/capi/v1/customer/pbm/{enterpriseCode}/{orderType}", Mode: UserOnly, Handler: priv.PermissionList()},
		{ID: "permission-ordertype-change", Method: "POST", Path: "/capi/v1/customer/pbm/{enterpriseCode}/{orderType}", Mode: UserOnly, Handler: priv.PermissionChange()},
		{ID: "shield-ordertype-check-client", Method: "POST", Path: "/capi/v1/client/customer/pbm/shield/ordertype", Mode: ClientOnly, Handler: priv.ShieldCheck(true)},
		{ID: "shield-enterprise-check-client", Method: "POST", Path: "/capi/v1/client/customer/pbm/shield/enterprise", Mode: ClientOnly, Handler: priv.ShieldCheck(false)},
		{ID: "privacy-enterprise-list", Method: "GET", Path: "/capi/v1/customer/privacy/{enterpriseCode}", Mode: UserOnly, Handler: priv.PurposeList()},
		{ID: "privacy-enterprise-change", Method: "POST", Path: "/capi/v1/customer/privacy/{enterpriseCode}", Mode: UserOnly, Handler: priv.PurposeChange()},
		{ID: "privacy-ordertype-list", Method: "GET", Path: "/capi/v1/customer/privacy/{enterpriseCode}/{orderType}", Mode: UserOnly, Handler: priv.PurposeList()},
		{ID: "privacy-ordertype-change", Method: "POST", Path: "/capi/v1/customer/privacy/{enterpriseCode}/{orderType}", Mode: UserOnly, Handler: priv.PurposeChange()},
		// Recruitment (recruitment.md): member-gets-member campaigns, recruitments, points and premiums.
		{ID: "recruitment-register-client", Method: "POST", Path: "/capi/v1/client/recruitment", Mode: ClientOnly, Handler: recruits.Register()},
		{ID: "recruitment-campaign-list-client", Method: "GET", Path: "/capi/v1/client/recruitment/campaign", Mode: ClientOnly, Handler: recruits.CampaignList()},
		{ID: "recruitment-register", Method: "POST", Path: "/capi/v1/customer/recruitment", Mode: UserOnly, Handler: recruits.Register()},
		{ID: "recruitment-list", Method: "GET", Path: "/capi/v1/customer/recruitment/{campaign}", Mode: UserOnly, Handler: recruits.List()},
		{ID: "recruitment-premium-list", Method: "GET", Path: "/capi/v1/customer/recruitment/premium/{campaign}", Mode: UserOnly, Handler: recruits.PremiumList()},
		{ID: "recruitment-premium-change", Method: "POST", Path: "/capi/v1/customer/recruitment/premium/{campaign}", Mode: UserOnly, Handler: recruits.PremiumChange()},
		// User Data: metadata (userdata.md), one JSON object per (client, user); JSON only.
		{ID: "metadata-list", Method: "GET", Path: "/capi/v1/customer/metadata", Mode: UserOnly, Handler: meta.List()},
		{ID: "metadata-change", Method: "POST", Path: "/capi/v1/customer/metadata", Mode: UserOnly, Handler: meta.Change()},
		{ID: "metadata-remove", Method: "DELETE", Path: "/capi/v1/customer/metadata", Mode: UserOnly, Handler: meta.Remove()},
		{ID: "metadata-list-client", Method: "GET", Path: "/capi/v1/client/metadata/{uniqueId}", Mode: ClientOnly, Handler: meta.List()},
		{ID: "metadata-change-client", Method: "POST", Path: "/capi/v1/client/metadata/{uniqueId}", Mode: ClientOnly, Handler: meta.Change()},
		{ID: "metadata-remove-client", Method: "DELETE", Path: "/capi/v1/client/metadata/{uniqueId}", Mode: ClientOnly, Handler: meta.Remove()},

		// Diverse (diverse.md): messages to customer service, service notices, stock levels.
		{ID: "message-list", Method: "GET", Path: "/capi/v1/customer/message", Mode: UserOnly, Handler: messages.List()},
		{ID: "message-send", Method: "POST", Path: "/capi/v1/customer/message", Mode: UserOnly, Handler: messages.Send()},
		{ID: "message-send-client", Method: "POST", Path: "/capi/v1/client/customer/message", Mode: ClientOnly, Handler: messages.SendClient()},
		{ID: "status-message-list", Method: "GET", Path: "/capi/v1/customer/status", Mode: UserOnly, Handler: messages.StatusList()},
		{ID: "stock-change-client", Method: "POST", Path: "/capi/v1/client/stock/update", Mode: ClientOnly, Handler: stocks.Change()},
		{ID: "stock-list-client", Method: "GET", Path: "/capi/v1/client/stock", Mode: ClientOnly, Handler: stocks.List()},
		{ID: "stock-product-list-client", Method: "GET", Path: "/capi/v1/client/stock/{productId}", Mode: ClientOnly, Handler: stocks.ProductList()},
		// Last of the area: a real erasure revokes the caller's token (the route walk uses one).
		{ID: "private-data-remove", Method: "DELETE", Path: "/capi/v1/customer/private-data", Mode: UserOnly, Handler: priv.PrivateDataRemove()},
	}
}
