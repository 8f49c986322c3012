package jobs

import (
	"context"

	"github.com/connect-oss/connect/internal/catalog"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// HeldForRenewal is what the renewal run reads for a batch of customers in
// one query (holdings), as heldAt takes it: by customer, the products held
// at at (epoch ms) through subscriptions other than except. For the test
// that it agrees with catalog.HeldProducts.
func HeldForRenewal(ctx context.Context, q store.Queryer, companyID int64, customers []int64, except, at int64) (map[int64]map[string]bool, error) {
	subs := make([]*subscription.Sub, len(customers))
	for i, c := range customers {
		subs[i] = &subscription.Sub{CustomerNumber: c, ProductCode: "X"}
	}
	h, err := holdings(ctx, q, companyID, subs, map[string][]catalog.Dependency{"X": {{Product: "X"}}})
	if err != nil {
		return nil, err
	}
	out := map[int64]map[string]bool{}
	for _, c := range customers {
		out[c] = heldAt(h[c], except, at)
	}
	return out, nil
}
