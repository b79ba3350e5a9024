//! The buyer's HTML pages: the gateway page and the page that returns the buyer to the shop.

use crate::buyer::CallbackForm;
use crate::state::{ApiVersion, PaymentSnapshot};
use crate::util::{escape_html, group_thousands};

const STYLE: &str = "body{font-family:Tahoma,Vazirmatn,sans-serif;background:#f3f5f9;color:#1f2937;\
margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.08);padding:2rem;\
max-width:26rem;width:100%}h1{font-size:1.25rem;margin:0 0 .25rem}\
.note{color:#b45309;font-size:.8rem;margin:0 0 1.5rem}dl{display:grid;\
grid-template-columns:auto 1fr;gap:.5rem 1rem;margin:0 0 1.5rem}dt{color:#6b7280}dd{margin:0}\
.amount{font-size:1.4rem;font-weight:bold}.actions{display:flex;gap:.5rem;flex-wrap:wrap}\
.actions form{margin:0}button{font:inherit;border:0;border-radius:8px;padding:.6rem 1.2rem;\
cursor:pointer}#approve{background:#059669;color:#fff}#cancel{background:#e5e7eb}\
#fail{background:#fee2e2;color:#991b1b}#continue{background:#2563eb;color:#fff}";

fn page(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"fa\" dir=\"rtl\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}\n</main>\n\
         </body>\n</html>\n",
        escape_html(title)
    )
}

fn opt(v: &Option<String>) -> String {
    match v.as_deref() {
        Some(s) if !s.is_empty() => escape_html(s),
        _ => "—".to_owned(),
    }
}

/// The gateway page with the three buyer buttons.
pub(crate) fn gateway(p: &PaymentSnapshot) -> String {
    let code = escape_html(&p.code);
    let (heading, title) = match p.version {
        ApiVersion::V3 => ("درگاه پرداخت پی‌پینگ", "درگاه پی‌پینگ (سندباکس)"),
        _ => ("درگاه پرداخت اقساطی قسطا", "درگاه قسطا (سندباکس)"),
    };
    let mut main = String::new();
    main.push_str(&format!("<h1>{heading}</h1>\n"));
    main.push_str(
        "<p class=\"note\">سندباکس — پول واقعی جابه‌جا نمی‌شود (sandbox, no real money)</p>\n",
    );
    main.push_str(&format!(
        "<dl>\n<dt>مبلغ</dt><dd id=\"amount\" class=\"amount\" data-amount=\"{amount}\">{grouped} تومان</dd>\n\
         <dt>پرداخت‌کننده</dt><dd id=\"payer-name\">{name}</dd>\n\
         <dt>موبایل</dt><dd id=\"payer-identity\">{mobile}</dd>\n\
         <dt>توضیحات</dt><dd id=\"description\">{desc}</dd>\n\
         <dt>کد پرداخت</dt><dd id=\"code\">{code}</dd>\n</dl>\n",
        amount = p.amount,
        grouped = group_thousands(u64::from(p.amount)),
        name = opt(&p.payer_name),
        mobile = opt(&p.payer_identity),
        desc = opt(&p.description),
    ));
    main.push_str("<div class=\"actions\">\n");
    for (action, label) in [
        ("approve", "تایید و پرداخت"),
        ("cancel", "انصراف"),
        ("fail", "پرداخت ناموفق"),
    ] {
        main.push_str(&format!(
            "<form method=\"post\" action=\"/installment/{code}/{action}\">\
             <button id=\"{action}\" type=\"submit\">{label}</button></form>\n"
        ));
    }
    main.push_str("</div>");
    page(title, &main)
}

/// The page that sends the buyer back to the shop: an auto-submitting form.
pub(crate) fn callback(form: &CallbackForm) -> String {
    let mut main = String::new();
    main.push_str("<h1>در حال بازگشت به فروشگاه…</h1>\n");
    main.push_str(&format!(
        "<form id=\"callback\" method=\"post\" action=\"{}\" \
         enctype=\"application/x-www-form-urlencoded\">\n",
        escape_html(&form.return_url)
    ));
    for (name, value) in &form.fields {
        main.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape_html(name),
            escape_html(value)
        ));
    }
    main.push_str("<button id=\"continue\" type=\"submit\">بازگشت به فروشگاه</button>\n</form>\n");
    main.push_str(
        "<script>window.addEventListener(\"load\",function(){\
         document.getElementById(\"callback\").submit();});</script>",
    );
    page("بازگشت به فروشگاه", &main)
}

/// A page with a title and one sentence (404, 409).
pub(crate) fn message(title: &str, text: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>",
            escape_html(title),
            escape_html(text)
        ),
    )
}

/// What nginx answers when the upstream is down.
pub(crate) const BAD_GATEWAY: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n\
</html>\r\n";
