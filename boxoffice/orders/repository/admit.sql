-- Admission control's rule (orders/admission/control.py): admit every line of an order, or
-- none and say which type refused, while the seats left minus the seats admitted to other
-- orders and not yet decided cover it.
--
-- Applied after the migrations at every `boxoffice db upgrade` (core/database/migrate.py), so
-- changing the rule is an edit here, not a function body copied into a new migration.
--
-- One call admits every line of an order or none. It runs as a statement of its own
-- (autocommit), so the per-type locks are held only while the server runs it, never across a
-- round trip to a busy API process. Each statement in a (volatile) function takes a new
-- snapshot: the count after the locks sees every admission committed before them.
CREATE OR REPLACE FUNCTION boxoffice_admit(
    p_order text, p_types uuid[], p_quantities integer[], p_lease_seconds double precision
) RETURNS TABLE (
    refused_type uuid, refused_event uuid, type_name text, seats_available integer,
    seats_free integer
) LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    line record;
BEGIN
    -- The caller passes the types in id order, so two orders never wait on each other.
    FOR i IN 1 .. coalesce(array_length(p_types, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('admission:' || p_types[i]::text, 0));
    END LOOP;
    -- Lapsed admissions of orders that never reached their reservation.
    DELETE FROM admissions AS a
    WHERE a.ticket_type_id = ANY (p_types) AND a.expires_at <= now() AND a.order_id <> p_order;
    FOR i IN 1 .. coalesce(array_length(p_types, 1), 0) LOOP
        SELECT t.id, t.event_id, t.name::text AS name, t.available,
               t.available - coalesce((
                   SELECT sum(a.quantity) FROM admissions AS a
                   WHERE a.ticket_type_id = t.id AND a.expires_at > now()
                     AND a.order_id <> p_order
               ), 0)::integer AS free
        INTO line FROM ticket_types AS t WHERE t.id = p_types[i];
        IF NOT FOUND THEN
            RETURN QUERY SELECT p_types[i], NULL::uuid, NULL::text, 0, 0;
            RETURN;
        END IF;
        IF line.free < p_quantities[i] THEN
            RETURN QUERY SELECT line.id, line.event_id, line.name, line.available, line.free;
            RETURN;
        END IF;
    END LOOP;
    INSERT INTO admissions AS a (order_id, ticket_type_id, quantity, expires_at)
    SELECT p_order, u.type_id, u.quantity, now() + make_interval(secs => p_lease_seconds)
    FROM unnest(p_types, p_quantities) AS u (type_id, quantity)
    ON CONFLICT (order_id, ticket_type_id) DO UPDATE
        SET quantity = excluded.quantity, expires_at = excluded.expires_at;
END
$$;
