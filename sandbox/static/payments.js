// Payments in the web chat: invoice messages, the payment form (what the invoice asks for, the
// bot's shipping options for a flexible invoice, Pay) and the outcome. Loaded before app.js;
// uses its helpers ($, api, postJson, esc, toast, alertBox, state, senderSpec) at run time.
"use strict";

const payState = { invoice: null, orderInfoId: null, options: [] };

// Amounts come in the currency's smallest unit; Intl knows how many decimals each one has.
function money(amount, currency) {
  if (currency === "XTR") return `⭐️${amount}`;
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(amount / 10 ** digits);
  } catch (err) {
    return `${amount} ${currency}`;
  }
}

function invoiceHtml(message) {
  const invoice = message.api && message.api.invoice;
  if (!invoice) return "";
  return `<div class="invoice">
    <div class="invoice-title">${esc(invoice.title)}</div>
    <div class="invoice-description">${esc(invoice.description)}</div>
    <div class="invoice-total">${esc(money(invoice.total_amount, invoice.currency))}</div>
  </div>`;
}

function serviceText(message) {
  const api = message.api || {};
  if (api.successful_payment) {
    const paid = api.successful_payment;
    const invoice = state.messages.get(message.reply_to_message_id);
    const what = invoice && invoice.api && invoice.api.invoice ? ` for ${invoice.api.invoice.title}` : "";
    return `You paid ${money(paid.total_amount, paid.currency)}${what}`;
  }
  if (api.refunded_payment) {
    const refund = api.refunded_payment;
    return `${money(refund.total_amount, refund.currency)} refunded`;
  }
  return null;
}

function showPaymentOutcome(event) {
  if (event.status === "paid") toast(`Paid ${money(event.successful_payment.total_amount, event.successful_payment.currency)}`);
  else if ($("pay").hidden) alertBox(`Payment failed: ${event.error}`);
}

function payOutcome(text, kind) {
  const el = $("pay-outcome");
  el.textContent = text;
  el.className = `pay-outcome ${kind || ""}`;
}

function shippingFee(option) {
  return option ? option.prices.reduce((sum, price) => sum + price.amount, 0) : 0;
}

function payTotal() {
  const invoice = payState.invoice;
  const option = payState.options.find((o) => o.id === $("pay-shipping").value);
  return money(invoice.total_amount + shippingFee(option), invoice.currency);
}

function paySubmitLabel() {
  const invoice = payState.invoice;
  const asking = invoice.is_flexible && !payState.orderInfoId;
  $("pay-submit").textContent = asking ? "Continue" : `Pay ${payTotal()}`;
}

async function openPayForm(messageId) {
  const invoices = await api(`/invoices?chat_id=${state.chatId}`);
  const invoice = invoices.find((i) => i.message_id === messageId);
  if (!invoice) { toast("This invoice is gone"); return; }
  Object.assign(payState, { invoice, orderInfoId: null, options: [] });
  $("pay-title").textContent = invoice.title;
  $("pay-description").textContent = invoice.description;
  for (const el of document.querySelectorAll("#pay-form [data-need]")) el.hidden = !invoice[el.dataset.need];
  $("pay-shipping-row").hidden = true;
  $("pay-shipping").innerHTML = "";
  payOutcome(invoice.paid ? "This invoice is paid already." : "");
  $("pay-submit").disabled = invoice.paid;
  paySubmitLabel();
  $("pay").hidden = false;
  const first = document.querySelector("#pay-form .pay-fields label:not([hidden]) input");
  if (first) first.focus();
}

function orderInfo() {
  const invoice = payState.invoice;
  const info = {};
  if (invoice.need_name) info.name = $("pay-name").value.trim();
  if (invoice.need_phone_number) info.phone_number = $("pay-phone").value.trim();
  if (invoice.need_email) info.email = $("pay-email").value.trim();
  if (invoice.need_shipping_address) {
    info.shipping_address = {
      country_code: $("pay-country").value.trim().toUpperCase(),
      state: $("pay-state").value.trim(),
      city: $("pay-city").value.trim(),
      street_line1: $("pay-street1").value.trim(),
      street_line2: $("pay-street2").value.trim(),
      post_code: $("pay-post-code").value.trim(),
    };
  }
  return info;
}

function showShippingOptions(options) {
  payState.options = options;
  $("pay-shipping").innerHTML = options.map((o) =>
    `<option value="${esc(o.id)}">${esc(o.title)} — ${esc(money(shippingFee(o), payState.invoice.currency))}</option>`).join("");
  $("pay-shipping-row").hidden = false;
}

// The form's two steps, as Telegram's apps do them: the address first (the bot answers with
// its shipping options, or refuses the address), then the payment itself.
async function submitPayForm() {
  const invoice = payState.invoice;
  const body = { from: senderSpec(), message_id: invoice.message_id };
  const validating = invoice.is_flexible && !payState.orderInfoId;
  if (payState.orderInfoId) {
    body.order_info_id = payState.orderInfoId;
    body.shipping_option_id = $("pay-shipping").value;
  } else {
    body.order_info = orderInfo();
  }
  payOutcome(validating ? "Asking the bot for shipping options…" : "Waiting for the bot…", "waiting");
  $("pay-submit").disabled = true;
  try {
    const outcome = await postJson(`/chats/${state.chatId}/${validating ? "order_info" : "pay"}`, body);
    if (outcome.status === "validated") {
      payState.orderInfoId = outcome.order_info_id;
      showShippingOptions(outcome.shipping_options);
      payOutcome("");
      $("pay-submit").disabled = false;
    } else if (outcome.status === "paid") {
      payOutcome(`Paid ${money(outcome.successful_payment.total_amount, outcome.successful_payment.currency)} ✓`, "ok");
    } else {
      payOutcome(outcome.error || "The payment failed", "error");
      $("pay-submit").disabled = false;
    }
  } catch (err) {
    payOutcome(String(err.message || err), "error");
    $("pay-submit").disabled = false;
  }
  paySubmitLabel();
}

function wirePayForm() {
  $("pay-form").addEventListener("submit", async (e) => { e.preventDefault(); await submitPayForm(); });
  $("pay-close").addEventListener("click", () => ($("pay").hidden = true));
  $("pay-shipping").addEventListener("change", paySubmitLabel);
}
