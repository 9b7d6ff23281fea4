import { Type } from 'typebox';

const Subscription = Type.Object({
  id: Type.Integer(),
  plan: Type.String(),
  plan_name: Type.String(),
  status: Type.String(),
  start_date: Type.String({ format: 'date-time' }),
  end_date: Type.String({ format: 'date-time' }),
  price: Type.Union([Type.String(), Type.Null()]),
  currency: Type.String(),
  billing_period: Type.String(),
  days_remaining: Type.Integer(),
});

export const SubscriptionStatusSchema = Type.Object({
  has_subscription: Type.Boolean(),
  can_access_features: Type.Boolean(),
  message: Type.String(),
  subscription: Type.Union([Subscription, Type.Null()]),
});

const restrictionFields = {
  restricted: Type.Boolean(),
  subscription_required: Type.Boolean(),
  message: Type.String(),
  restrictions: Type.Array(Type.String()),
};

export const TalentRestrictionsSchema = Type.Object(restrictionFields);

export const BackgroundRestrictionsSchema = Type.Object({
  ...restrictionFields,
  can_share_items: Type.Boolean(),
  can_rent_or_sell: Type.Boolean(),
  can_upload_media: Type.Boolean(),
  can_create_listings: Type.Boolean(),
  can_respond_to_job_requests: Type.Boolean(),
});
